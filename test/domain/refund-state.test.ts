import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import {
  canTransition,
  inFlightStatuses,
  isInFlight,
  isTerminal,
  type RefundStatus,
  refundStatuses,
  refundTransitions,
  terminalStatuses,
  totalsDelta,
  transition,
} from '../../src/domain/refund-state.js';
import { domainError } from './fixtures.js';

/** PRODUCT.md §9, written out independently of the source table. */
const legal: ReadonlyArray<readonly [RefundStatus, RefundStatus]> = [
  ['requested', 'under_review'],
  ['requested', 'approved'],
  ['requested', 'rejected'],
  ['requested', 'canceled'],
  ['under_review', 'approved'],
  ['under_review', 'rejected'],
  ['under_review', 'canceled'],
  ['approved', 'processing'],
  ['approved', 'failed'],
  ['approved', 'canceled'],
  ['processing', 'succeeded'],
  ['processing', 'failed'],
];

const isLegal = (from: RefundStatus, to: RefundStatus) => legal.some(([f, t]) => f === from && t === to);
const anyStatus = fc.constantFrom(...refundStatuses);

describe('refund statuses', () => {
  it('are the eight statuses of the public contract', () => {
    expect([...refundStatuses]).toEqual([
      'requested',
      'under_review',
      'approved',
      'processing',
      'succeeded',
      'failed',
      'rejected',
      'canceled',
    ]);
  });

  it('every status is either in flight or terminal, never both', () => {
    for (const s of refundStatuses) expect(isInFlight(s) !== isTerminal(s), s).toBe(true);
    expect([...inFlightStatuses].sort()).toEqual(['approved', 'processing', 'requested', 'under_review']);
    expect([...terminalStatuses].sort()).toEqual(['canceled', 'failed', 'rejected', 'succeeded']);
  });

  it('terminal statuses have no way out', () => {
    for (const s of terminalStatuses) expect(refundTransitions[s], s).toEqual([]);
  });
});

describe('transitions', () => {
  it('the transition table holds exactly the legal moves', () => {
    for (const from of refundStatuses) {
      for (const to of refundStatuses) {
        expect(canTransition(from, to), `${from} → ${to}`).toBe(isLegal(from, to));
        expect(refundTransitions[from].includes(to), `${from} → ${to}`).toBe(isLegal(from, to));
      }
    }
  });

  it('transition returns the new status for a legal move', () => {
    for (const [from, to] of legal) expect(transition(from, to)).toBe(to);
  });

  it('refuses every illegal move with invalid_state_transition naming both ends', () => {
    for (const from of refundStatuses) {
      for (const to of refundStatuses) {
        if (isLegal(from, to)) continue;
        const error = domainError(() => transition(from, to), 'invalid_state_transition');
        expect(error.extra).toEqual({ from, to });
      }
    }
  });

  it('a succeeded refund can never fail, be canceled or go back to processing', () => {
    for (const to of ['failed', 'canceled', 'processing', 'succeeded'] as const) {
      expect(() => transition('succeeded', to)).toThrow(DomainError);
    }
  });

  it('a refund at the network (processing) can no longer be canceled or rejected', () => {
    expect(canTransition('processing', 'canceled')).toBe(false);
    expect(canTransition('processing', 'rejected')).toBe(false);
  });

  it('no status moves to itself', () => {
    for (const s of refundStatuses) expect(canTransition(s, s), s).toBe(false);
  });

  it('every legal path ends in a terminal status within five moves (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 5, maxLength: 5 }), (choices) => {
        let s: RefundStatus = 'requested';
        let moves = 0;
        for (const c of choices) {
          const next = refundTransitions[s];
          if (next.length === 0) break;
          s = transition(s, next[c % next.length] as RefundStatus);
          moves++;
        }
        expect(isTerminal(s)).toBe(true);
        expect(moves).toBeLessThanOrEqual(4);
      }),
    );
  });
});

describe('totalsDelta', () => {
  it('a new refund in flight reserves its amount', () => {
    for (const s of ['requested', 'under_review', 'approved'] as const) {
      expect(totalsDelta(null, s, 700)).toEqual({ inFlightMinor: 700, refundedMinor: 0 });
    }
  });

  it('moving between in-flight statuses changes nothing', () => {
    expect(totalsDelta('requested', 'under_review', 700)).toEqual({ inFlightMinor: 0, refundedMinor: 0 });
    expect(totalsDelta('under_review', 'approved', 700)).toEqual({ inFlightMinor: 0, refundedMinor: 0 });
    expect(totalsDelta('approved', 'processing', 700)).toEqual({ inFlightMinor: 0, refundedMinor: 0 });
  });

  it('success moves the amount from in flight to refunded', () => {
    expect(totalsDelta('processing', 'succeeded', 700)).toEqual({ inFlightMinor: -700, refundedMinor: 700 });
  });

  it('failure, rejection and cancelation release the reservation and refund nothing', () => {
    expect(totalsDelta('processing', 'failed', 700)).toEqual({ inFlightMinor: -700, refundedMinor: 0 });
    expect(totalsDelta('approved', 'failed', 700)).toEqual({ inFlightMinor: -700, refundedMinor: 0 });
    expect(totalsDelta('under_review', 'rejected', 700)).toEqual({ inFlightMinor: -700, refundedMinor: 0 });
    expect(totalsDelta('requested', 'canceled', 700)).toEqual({ inFlightMinor: -700, refundedMinor: 0 });
  });

  it('summed along any legal life, counts the amount once as refunded if it succeeded, else not at all (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('requested', 'under_review', 'approved' as RefundStatus),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.integer({ min: 1, max: 10 ** 12 }),
        (start, choices, amount) => {
          let s: RefundStatus = start;
          let inFlight = totalsDelta(null, s, amount).inFlightMinor;
          let refunded = 0;
          for (const c of choices) {
            const next = refundTransitions[s];
            if (next.length === 0) break;
            const to = next[c % next.length] as RefundStatus;
            const d = totalsDelta(s, to, amount);
            inFlight += d.inFlightMinor;
            refunded += d.refundedMinor;
            s = transition(s, to);
            expect(inFlight).toBe(isInFlight(s) ? amount : 0);
          }
          expect(refunded).toBe(s === 'succeeded' ? amount : 0);
        },
      ),
    );
  });

  it('every legal move leaves the amount in flight exactly while the refund is in flight (property)', () => {
    fc.assert(
      fc.property(anyStatus, anyStatus, fc.integer({ min: 1, max: 10 ** 12 }), (from, to, amount) => {
        if (!canTransition(from, to)) return;
        const d = totalsDelta(from, to, amount);
        const before = isInFlight(from) ? amount : 0;
        expect(before + d.inFlightMinor).toBe(isInFlight(to) ? amount : 0);
        expect(d.refundedMinor).toBe(to === 'succeeded' ? amount : 0);
      }),
    );
  });
});
