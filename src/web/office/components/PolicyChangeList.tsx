import type { Change } from './PolicyModel';

/** Before → after, one row per setting that changes. */
export function PolicyChangeList({
  changes,
  testId = 'policy-diff',
}: {
  changes: Change[];
  testId?: string;
}) {
  return (
    <table class="grid static changes" data-testid={testId}>
      <tbody>
        {changes.map((c) => (
          <tr key={c.name} data-change={c.name}>
            <th scope="row">{c.label}</th>
            <td class="from">{c.from}</td>
            <td class="arrow" aria-hidden="true">
              →
            </td>
            <td class="to">{c.to}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
