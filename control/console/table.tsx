import type { Child } from "hono/jsx";

/**
 * A data table: column headers from `headers` (a `false` entry is a column this viewer does not
 * get, such as Action for a read-only token), the rows as children. `wrap` puts it in the
 * scrolling `.table-wrap` box every list page uses, so wide tables scroll instead of overflowing
 * on a phone.
 */
export function Table(props: {
  headers: (Child | false)[];
  id?: string;
  class?: string;
  label?: string;
  wrap?: boolean;
  children?: Child;
}) {
  const table = (
    <table id={props.id} class={props.class} aria-label={props.label}>
      <thead>
        <tr>
          {props.headers.filter((h) => h !== false).map((h) => (
            <th scope="col">{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>{props.children}</tbody>
    </table>
  );
  return props.wrap === false ? table : <div class="table-wrap">{table}</div>;
}
