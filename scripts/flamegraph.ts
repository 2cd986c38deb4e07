/**
 * `npm run flamegraph -- <in.cpuprofile> <out.svg> [--title "..."] [--min-percent 0.3]`: a V8 CPU
 * profile (as `node --cpu-prof` writes it) drawn as a standalone, static SVG flame graph — root at the
 * bottom, width ∝ sampled time, children sorted by name so the same profile gives the same bytes.
 *
 * Hand-written because no package on the registry fits the job: 0x, @clinic/flame and d3-flame-graph
 * draw interactive HTML in a browser, flamebearer 2 now prints text summaries, and `flamegraph`
 * (thlorenz) reads the pre-2016 profile shape and has not been kept up. A README needs one SVG file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

type Area = 'ours' | 'deps' | 'node' | 'gc' | 'vm';
export interface Frame {
  name: string;
  area: Area;
  selfUs: number;
  totalUs: number;
  children: Frame[];
}

// V8's pseudo-frames: time outside JavaScript. Each gets a frame of its own at the root.
const PSEUDO_FRAMES = new Set(['(idle)', '(program)', '(garbage collector)']);
// The checkout this script lives in; its prefix is stripped so labels read `dist/store/db.js:70`.
const REPO_URL = new URL('../', import.meta.url).href;
const MAX_DEPTH = 512;

export function parseProfile(text: string): CpuProfile {
  const profile = JSON.parse(text) as Partial<CpuProfile>;
  const { nodes, samples, timeDeltas, startTime, endTime } = profile;
  if (!Array.isArray(nodes) || !Array.isArray(samples) || !Array.isArray(timeDeltas)) {
    throw new Error('not a V8 .cpuprofile: nodes, samples and timeDeltas must be arrays');
  }
  if (samples.length !== timeDeltas.length || typeof startTime !== 'number' || typeof endTime !== 'number') {
    throw new Error('not a V8 .cpuprofile: samples and timeDeltas differ in length, or no start/end time');
  }
  return { nodes, samples, timeDeltas, startTime, endTime };
}

export function frameLabel(frame: CallFrame, repoUrl = REPO_URL): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const file = frame.url.replace(repoUrl, '').replace(/(^|\/)node_modules\//g, '$1nm/');
  return `${name} (${file}:${frame.lineNumber + 1})`; // V8 counts lines from 0
}

function areaOf(frame: CallFrame, repoUrl: string): Area {
  if (frame.functionName === '(garbage collector)') return 'gc';
  if (PSEUDO_FRAMES.has(frame.functionName) || frame.functionName === '(root)') return 'vm';
  if (!frame.url || frame.url.startsWith('node:')) return 'node';
  const file = frame.url.replace(repoUrl, '');
  if (file.includes('node_modules/')) return 'deps';
  return file.startsWith('dist/') || file.startsWith('src/') ? 'ours' : 'deps';
}

/** A sample lasts until the next one (the last until endTime), as Chrome DevTools counts it. */
function selfTimesUs(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    const next = i + 1 < profile.samples.length ? at + (profile.timeDeltas[i + 1] ?? 0) : profile.endTime;
    const id = profile.samples[i] ?? -1;
    self.set(id, (self.get(id) ?? 0) + Math.max(0, next - at));
  }
  return self;
}

/** The call tree with frames of the same label under the same parent merged, and inclusive times. */
export function buildFrameTree(profile: CpuProfile, repoUrl = REPO_URL): Frame {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const rootNode = profile.nodes.find((n) => n.callFrame.functionName === '(root)') ?? profile.nodes[0];
  if (!rootNode) throw new Error('the profile has no nodes');
  const selfUs = selfTimesUs(profile);
  const root: Frame = { name: 'all', area: 'vm', selfUs: 0, totalUs: 0, children: [] };
  const open = new Map<Frame, Map<string, Frame>>([[root, new Map()]]);

  const visit = (node: ProfileNode, parent: Frame, depth: number): void => {
    if (depth > MAX_DEPTH) throw new Error(`call stack deeper than ${MAX_DEPTH} frames`);
    const at = PSEUDO_FRAMES.has(node.callFrame.functionName) ? root : parent;
    const name = frameLabel(node.callFrame, repoUrl);
    const siblings = open.get(at);
    if (!siblings) throw new Error('a frame was visited before its parent');
    let frame = siblings.get(name);
    if (!frame) {
      frame = { name, area: areaOf(node.callFrame, repoUrl), selfUs: 0, totalUs: 0, children: [] };
      siblings.set(name, frame);
      open.set(frame, new Map());
    }
    frame.selfUs += selfUs.get(node.id) ?? 0;
    for (const id of node.children ?? []) {
      const child = byId.get(id);
      if (child) visit(child, frame, depth + 1);
    }
  };
  root.selfUs = selfUs.get(rootNode.id) ?? 0;
  for (const id of rootNode.children ?? []) {
    const child = byId.get(id);
    if (child) visit(child, root, 1);
  }

  const finish = (frame: Frame): number => {
    frame.children = [...(open.get(frame)?.values() ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1));
    frame.totalUs = frame.selfUs + frame.children.reduce((sum, c) => sum + finish(c), 0);
    return frame.totalUs;
  };
  const sampledUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  if (Math.abs(finish(root) - sampledUs) > 1) throw new Error('frame times do not add up to the samples');
  return root;
}

/** Frames narrower than minPercent of the whole are removed; their time stays in the parent's self. */
export function collapseSmall(root: Frame, minPercent: number): Frame {
  const minUs = (root.totalUs * minPercent) / 100;
  const keep = (frame: Frame): Frame => {
    const kept = frame.children.filter((c) => c.totalUs >= minUs && c.totalUs > 0).map(keep);
    const keptUs = kept.reduce((sum, c) => sum + c.totalUs, 0);
    return { ...frame, selfUs: frame.totalUs - keptUs, children: kept };
  };
  return keep(root);
}

const WIDTH_PX = 1200;
const PAD_PX = 10;
const FRAME_PX = 16;
const TITLE_PX = 34;
const LEGEND_PX = 26;
const CHAR_PX = 6.6; // 11 px monospace
const HUES: Record<Area, { hue: number; spread: number; sat: number; light: number }> = {
  ours: { hue: 12, spread: 38, sat: 85, light: 58 }, // warm: red to orange
  deps: { hue: 178, spread: 34, sat: 50, light: 60 }, // cool: teal to blue
  node: { hue: 0, spread: 0, sat: 0, light: 72 }, // grey
  gc: { hue: 285, spread: 0, sat: 55, light: 62 }, // violet, so collection time stands out
  vm: { hue: 0, spread: 0, sat: 0, light: 84 }, // light grey: all, idle, program
};

function hash(text: string): number {
  let h = 2166136261; // FNV-1a: a stable shade per name, so neighbours differ and reruns match
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0) / 2 ** 32;
}

function fill(frame: Frame): string {
  const c = HUES[frame.area];
  const shade = hash(frame.name);
  return `hsl(${(c.hue + c.spread * shade).toFixed(0)} ${c.sat}% ${(c.light + 8 * shade).toFixed(0)}%)`;
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[ch] ?? ch,
  );
}

/** The full label if it fits, else `fn (file.js:line)`, else the function name cut with an ellipsis. */
export function fitLabel(name: string, widthPx: number): string {
  const chars = Math.floor((widthPx - 6) / CHAR_PX);
  if (chars < 3) return '';
  const short = name.replace(/\((?:[^()]*\/)?([^/()]+)\)$/, '($1)');
  for (const candidate of [name, short]) if (candidate.length <= chars) return candidate;
  return `${short.slice(0, chars - 1)}…`;
}

function depthOf(frame: Frame): number {
  return 1 + Math.max(0, ...frame.children.map(depthOf));
}

export function renderSvg(root: Frame, title: string): string {
  const heightPx = TITLE_PX + depthOf(root) * FRAME_PX + LEGEND_PX;
  const pxPerUs = root.totalUs > 0 ? (WIDTH_PX - 2 * PAD_PX) / root.totalUs : 0;
  const percent = (us: number) => (root.totalUs > 0 ? ((100 * us) / root.totalUs).toFixed(2) : '0.00');
  const rows: string[] = [];
  const draw = (frame: Frame, xPx: number, depth: number): void => {
    const yPx = heightPx - LEGEND_PX - (depth + 1) * FRAME_PX;
    const wPx = frame.totalUs * pxPerUs;
    const tip = `${frame.name} — ${percent(frame.totalUs)} % (${(frame.totalUs / 1000).toFixed(1)} ms), self ${percent(frame.selfUs)} %`;
    const label = fitLabel(frame.name, wPx);
    rows.push(
      `<g><title>${escapeXml(tip)}</title><rect x="${xPx.toFixed(1)}" y="${yPx}" width="${Math.max(wPx - 0.5, 0.1).toFixed(1)}" height="${FRAME_PX - 1}" rx="2" fill="${fill(frame)}"/>` +
        (label ? `<text x="${(xPx + 3).toFixed(1)}" y="${yPx + 11.5}">${escapeXml(label)}</text>` : '') +
        '</g>',
    );
    let childX = xPx;
    for (const child of frame.children) {
      draw(child, childX, depth + 1);
      childX += child.totalUs * pxPerUs;
    }
  };
  draw(root, PAD_PX, 0);
  const legendY = heightPx - 9;
  const legend = (['ours', 'deps', 'node', 'gc'] as const).map((area, i) => {
    const x = PAD_PX + i * 200;
    const text = {
      ours: 'our code (dist/, src/)',
      deps: 'node_modules (nm/)',
      node: 'Node internals',
      gc: 'garbage collector',
    }[area];
    const { hue, sat, light } = HUES[area];
    return `<rect x="${x}" y="${legendY - 10}" width="12" height="12" fill="hsl(${hue} ${sat}% ${light}%)"/><text x="${x + 16}" y="${legendY}">${text}</text>`;
  });
  const sampled = `${(root.totalUs / 1e6).toFixed(1)} s sampled; width ∝ time; hover a frame for its share`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH_PX}" height="${heightPx}" viewBox="0 0 ${WIDTH_PX} ${heightPx}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="11">`,
    `<rect width="100%" height="100%" fill="#f8f8f4"/>`,
    `<text x="${WIDTH_PX / 2}" y="22" font-size="15" text-anchor="middle">${escapeXml(title)}</text>`,
    ...rows,
    ...legend,
    `<text x="${WIDTH_PX - PAD_PX}" y="${legendY}" text-anchor="end" fill="#555">${escapeXml(sampled)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

export function flamegraph(profile: CpuProfile, options: { title: string; minPercent: number }): string {
  return renderSvg(collapseSmall(buildFrameTree(profile), options.minPercent), options.title);
}

function main(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { title: { type: 'string' }, 'min-percent': { type: 'string', default: '0.3' } },
  });
  const [input, output] = positionals;
  const minPercent = Number(values['min-percent']);
  if (!input || !output || positionals.length > 2 || !(minPercent >= 0 && minPercent < 100)) {
    process.stderr.write('usage: flamegraph <in.cpuprofile> <out.svg> [--title "..."] [--min-percent 0.3]\n');
    process.exit(2);
  }
  const profile = parseProfile(readFileSync(input, 'utf8'));
  writeFileSync(output, flamegraph(profile, { title: values.title ?? input, minPercent }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
