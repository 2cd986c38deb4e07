import { describe, expect, it } from 'vitest';
import {
  buildFrameTree,
  type CpuProfile,
  collapseSmall,
  type Frame,
  fitLabel,
  renderSvg,
} from '../../scripts/flamegraph.js';

const REPO = 'file:///repo/';
const frame = (functionName: string, url = '', lineNumber = -1) => ({ functionName, url, lineNumber });

/**
 * Ten samples of 100 µs each: main 1 (self), helper 5, tiny 1, garbage collection 2 (one of them
 * nested under main, as a pseudo-frame must never be), idle 1.
 */
function tinyProfile(): CpuProfile {
  return {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3, 6] },
      { id: 2, callFrame: frame('main', `${REPO}dist/a.js`, 9), children: [4, 5, 7] },
      { id: 3, callFrame: frame('(garbage collector)') },
      { id: 4, callFrame: frame('helper', `${REPO}node_modules/x/index.js`, 3) },
      { id: 5, callFrame: frame('tiny', `${REPO}dist/b.js`, 1) },
      { id: 6, callFrame: frame('(idle)') },
      { id: 7, callFrame: frame('(garbage collector)') },
    ],
    startTime: 0,
    endTime: 1000,
    samples: [2, 4, 4, 5, 4, 3, 4, 7, 4, 6],
    timeDeltas: [0, 100, 100, 100, 100, 100, 100, 100, 100, 100],
  };
}

/** `name total/self` per frame, children indented under their parent: the tree the SVG draws. */
function folded(root: Frame, depth = 0): string[] {
  const line = `${'  '.repeat(depth)}${root.name} ${root.totalUs}/${root.selfUs}`;
  return [line, ...root.children.flatMap((child) => folded(child, depth + 1))];
}

describe('scripts/flamegraph', () => {
  it('gives each frame its inclusive time, pseudo-frames at the root, children sorted by name', () => {
    expect(folded(buildFrameTree(tinyProfile(), REPO))).toEqual([
      'all 1000/0',
      '  (garbage collector) 200/200',
      '  (idle) 100/100',
      '  main (dist/a.js:10) 700/100',
      '    helper (nm/x/index.js:4) 500/500',
      '    tiny (dist/b.js:2) 100/100',
    ]);
  });

  it('folds frames below the minimum share into their parent', () => {
    const tree = collapseSmall(buildFrameTree(tinyProfile(), REPO), 15);
    expect(folded(tree)).toEqual([
      'all 1000/100',
      '  (garbage collector) 200/200',
      '  main (dist/a.js:10) 700/200',
      '    helper (nm/x/index.js:4) 500/500',
    ]);
    expect(renderSvg(tree, 't')).not.toContain('tiny');
  });

  it('draws frame widths in proportion to their time', () => {
    const svg = renderSvg(buildFrameTree(tinyProfile(), REPO), 't');
    // 1180 px between the margins: main has 70 % of the samples, helper 50 %, less a 0.5 px gap.
    expect(svg).toMatch(/main \(dist\/a\.js:10\) — 70\.00 %.*?width="825\.5"/);
    expect(svg).toMatch(/helper \(nm\/x\/index\.js:4\) — 50\.00 %.*?width="589\.5"/);
  });

  it('writes the same SVG whatever the order of nodes and children in the profile', () => {
    const shuffled = tinyProfile();
    shuffled.nodes.reverse();
    for (const node of shuffled.nodes) node.children?.reverse();
    const render = (p: CpuProfile) => renderSvg(collapseSmall(buildFrameTree(p, REPO), 0.3), 'title');
    expect(render(shuffled)).toBe(render(tinyProfile()));
  });

  it('shortens a label to its file name, then cuts it, to fit the frame', () => {
    const name = 'visitNode (nm/kysely/dist/esm/operation-node/operation-node-visitor.js:107)';
    expect(fitLabel(name, 1000)).toBe(name);
    expect(fitLabel(name, 300)).toBe('visitNode (operation-node-visitor.js:107)');
    expect(fitLabel(name, 100)).toBe('visitNode (op…');
    expect(fitLabel(name, 20)).toBe('');
  });
});
