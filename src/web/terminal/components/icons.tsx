/**
 * Line icons drawn in SVG, so they look the same on every POS whatever fonts it has (symbol
 * characters such as ⎙ are missing from many of them). 24 × 24, stroke in the text colour.
 */
const paths: Record<string, string> = {
  refund: 'M9 14 4 9l5-5 M4 9h10.5a5.5 5.5 0 0 1 0 11H11',
  void: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z M5.6 5.6l12.8 12.8',
  adjust: 'M12 4v8 M8 8h8 M8 19h8',
  sale: 'M6 4l6 8 6-8 M12 12v9 M7 13h10 M7 17h10',
  transactions: 'M8 6h13 M8 12h13 M8 18h13 M3.5 6h.01 M3.5 12h.01 M3.5 18h.01',
  settlement: 'M5 4h14v16H5z M8 8h8 M8 12h2 M14 12h2 M8 16h2 M14 16h2',
  reprint:
    'M6 9V3h12v6 M6 18H4a2 2 0 0 1-2-2v-5a2 2 0 0 1 2-2h16a2 2 0 0 1 2 2v5a2 2 0 0 1-2 2h-2 M6 14h12v7H6z',
  signOut: 'M12 2v10 M18.4 6.6a9 9 0 1 1-12.8 0',
  operators: 'M5 11h14v10H5z M8 11V7a4 4 0 0 1 8 0 M12 15v2',
  returns: 'M3 3h7v7H3z M14 3h7v7h-7z M3 14h7v7H3z M14 14h3v3h-3z M20 14v1 M14 20h1 M18 18h3v3h-3z',
};

export function Icon({ name, size = 56 }: { name: string; size?: number }) {
  return (
    <svg
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
      aria-hidden="true"
    >
      <path d={paths[name] ?? ''} />
    </svg>
  );
}
