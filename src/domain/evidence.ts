import { DomainError } from './errors.js';
import type { RefundStatus } from './refund-state.js';

/**
 * Evidence photos of a refund in review (goods, voucher): the reviewer's record of what was
 * checked. Bounded in type, size and number; the type is the file's own (its magic bytes), never
 * only what the request's Content-Type claims.
 */
export const evidenceTypes = ['image/jpeg', 'image/png', 'image/webp'] as const;
export type EvidenceType = (typeof evidenceTypes)[number];

/** 2 MiB: a phone photo saved for the web; the route refuses a larger body before reading it all. */
export const MAX_EVIDENCE_BYTES = 2 * 1024 * 1024;
export const MAX_EVIDENCE_PER_REFUND = 6;

/** Photos are added while the refund waits for its review, not after it was decided. */
const openStatuses: readonly RefundStatus[] = ['requested', 'under_review'];

const startsWith = (bytes: Uint8Array, at: number, signature: readonly number[]) =>
  bytes.length >= at + signature.length && signature.every((b, i) => bytes[at + i] === b);

const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));

/** The image type the bytes themselves are (JPEG SOI marker, PNG signature, RIFF…WEBP), or null. */
export function sniffImageType(bytes: Uint8Array): EvidenceType | null {
  if (startsWith(bytes, 0, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, 0, ascii('RIFF')) && startsWith(bytes, 8, ascii('WEBP'))) return 'image/webp';
  return null;
}

/** The media type of a Content-Type header, lower case, without parameters. */
export function mediaTypeOf(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * Check one photo for a refund: the refund still in review, room for one more, a size within the
 * limit, and bytes that are the image type declared. Returns the type.
 */
export function checkEvidence(input: {
  declaredType: string;
  bytes: Uint8Array;
  refundStatus: RefundStatus;
  photosSoFar: number;
}): EvidenceType {
  if (!openStatuses.includes(input.refundStatus)) {
    throw new DomainError(
      'invalid_state_transition',
      `photos are added while a refund is requested or under review; this one is ${input.refundStatus}`,
      { refundStatus: input.refundStatus },
    );
  }
  if (input.photosSoFar >= MAX_EVIDENCE_PER_REFUND) {
    throw new DomainError(
      'evidence_limit',
      `a refund keeps at most ${MAX_EVIDENCE_PER_REFUND} photos; this one has ${input.photosSoFar}`,
      { maxPhotos: MAX_EVIDENCE_PER_REFUND },
    );
  }
  if (input.bytes.length > MAX_EVIDENCE_BYTES) {
    throw new DomainError('evidence_too_large', `a photo may be at most ${MAX_EVIDENCE_BYTES} bytes`, {
      maxBytes: MAX_EVIDENCE_BYTES,
    });
  }
  const actual = sniffImageType(input.bytes);
  if (actual === null || actual !== input.declaredType) {
    throw new DomainError(
      'evidence_type_unsupported',
      actual === null
        ? `the body is not a JPEG, PNG or WebP image (sent as ${input.declaredType || 'no type'})`
        : `the body is ${actual}, not the ${input.declaredType} its Content-Type says`,
      { accepted: [...evidenceTypes] },
    );
  }
  return actual;
}
