import { Iso8583Error } from '../../../src/network/iso8583/errors.js';

/** The `Iso8583Error` that `fn` throws; fails the test if it returns or throws anything else. */
export function thrown(fn: () => unknown): Iso8583Error {
  try {
    fn();
  } catch (error) {
    if (error instanceof Iso8583Error) return error;
    throw error;
  }
  throw new Error('expected an Iso8583Error, but nothing was thrown');
}
