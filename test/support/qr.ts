import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';

/** jsqr is CommonJS with `export default` in its types: the function is the default export or the module. */
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ??
  jsQRModule) as unknown as (
  data: Uint8ClampedArray,
  width: number,
  height: number,
) => { data: string } | null;

/** The text a PNG's QR code encodes (jsQR over the pixels pngjs decodes), or null when none is found. */
export function decodeQr(png: Buffer | string): string | null {
  const image = PNG.sync.read(typeof png === 'string' ? Buffer.from(png, 'base64') : png);
  return jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data ?? null;
}
