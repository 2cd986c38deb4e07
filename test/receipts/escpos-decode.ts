import iconv from 'iconv-lite';

/**
 * A small ESC/POS reader for the tests: walks the byte stream, steps over every ESC / FS / GS
 * command by its known length (GS ( k by its own pL pH length), and decodes the text between them
 * as GB18030. Control bytes never occur inside a GB18030 character (its trail bytes are ≥ 0x30),
 * so a byte below 0x20 always starts a command or ends a line. Unknown commands throw, so the
 * tests notice any byte the decoder does not understand.
 */

export interface EscPosCommand {
  /** e.g. `ESC @`, `FS &`, `GS ( k`, `GS V`. */
  name: string;
  bytes: number[];
  /** Index of the first printed line after this command. */
  line: number;
}

export interface DecodedEscPos {
  lines: string[];
  commands: EscPosCommand[];
  /** Payloads stored with GS ( k fn 80 (QR code: store data). */
  qrPayloads: string[];
  /** Line indexes printed while bold (ESC E 1) was on. */
  boldLines: Set<number>;
  /** Line indexes printed while centred (ESC a 1). */
  centredLines: Set<number>;
}

const ESC = 0x1b;
const FS = 0x1c;
const GS = 0x1d;

/** Total length (with the prefix) of the fixed-length commands the voucher may contain. */
const fixed: Record<number, Record<number, number>> = {
  [ESC]: { 64: 2, 97: 3, 69: 3, 77: 3, 116: 3, 33: 3, 45: 3, 100: 3, 74: 3, 50: 2, 51: 3 },
  [FS]: { 38: 2, 46: 2, 33: 3 },
  [GS]: { 33: 3, 66: 3, 86: 3 },
};
const prefixName: Record<number, string> = { [ESC]: 'ESC', [FS]: 'FS', [GS]: 'GS' };

export function decodeEscPos(data: Uint8Array): DecodedEscPos {
  const lines: string[] = [];
  const commands: EscPosCommand[] = [];
  const qrPayloads: string[] = [];
  const boldLines = new Set<number>();
  const centredLines = new Set<number>();
  let run: number[] = [];
  let bold = false;
  let centred = false;
  const endLine = () => {
    if (bold) boldLines.add(lines.length);
    if (centred) centredLines.add(lines.length);
    lines.push(iconv.decode(Buffer.from(run), 'gb18030'));
    run = [];
  };
  let i = 0;
  while (i < data.length) {
    const b = data[i] as number;
    if (b === 0x0a) {
      endLine();
      i++;
      continue;
    }
    if (b === 0x0d) {
      i++;
      continue;
    }
    if (b === ESC || b === FS || b === GS) {
      const op = data[i + 1];
      if (op === undefined) throw new Error(`truncated command at ${i}`);
      let length: number;
      let name = `${prefixName[b]} ${String.fromCharCode(op)}`;
      if (b === GS && op === 0x28) {
        // GS ( fn pL pH d1…dk: k = pL + 256 × pH bytes follow.
        const fn = String.fromCharCode(data[i + 2] ?? 0);
        const k = (data[i + 3] ?? 0) + 256 * (data[i + 4] ?? 0);
        length = 5 + k;
        name = `GS ( ${fn}`;
        const body = [...data.subarray(i + 5, i + length)];
        // QR code (cn = 49): fn 80 stores the data after the m byte (48).
        if (fn === 'k' && body[0] === 49 && body[1] === 80) {
          qrPayloads.push(Buffer.from(body.slice(3)).toString('latin1'));
        }
      } else {
        const known = fixed[b]?.[op];
        if (known === undefined)
          throw new Error(`unknown command ${name} (0x${op.toString(16)}) at byte ${i}`);
        length = known;
        // GS V m with m = 65/66 carries a feed byte.
        if (b === GS && op === 0x56 && (data[i + 2] === 65 || data[i + 2] === 66)) length = 4;
      }
      if (i + length > data.length) throw new Error(`truncated ${name} at byte ${i}`);
      const bytes = [...data.subarray(i, i + length)];
      if (b === ESC && op === 0x45) bold = (bytes[2] ?? 0) % 2 === 1;
      if (b === ESC && op === 0x61) centred = bytes[2] === 1 || bytes[2] === 49;
      commands.push({ name, bytes, line: lines.length });
      i += length;
      continue;
    }
    if (b < 0x20) throw new Error(`unexpected control byte 0x${b.toString(16)} at ${i}`);
    run.push(b);
    i++;
  }
  if (run.length > 0) endLine();
  return { lines, commands, qrPayloads, boldLines, centredLines };
}
