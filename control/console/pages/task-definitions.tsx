import type { TaskDefinitionRow } from "../../db/rows.ts";
import { base, Csrf, FieldErrors, Page, Status, type Viewer } from "../layout.tsx";

const td = (rest = "") => `${base}/task-definitions${rest}`;

export function FamiliesPage(props: { viewer: Viewer; rows: TaskDefinitionRow[] }) {
  const families = new Map<string, TaskDefinitionRow[]>();
  for (const r of props.rows) families.set(r.family, [...(families.get(r.family) ?? []), r]);
  return (
    <Page title="Task definitions" viewer={props.viewer}>
      {props.viewer.canWrite && (
        <p>
          <a class="button" href={td("/new")}>
            Register a task definition
          </a>
        </p>
      )}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Family</th>
              <th scope="col">Active revisions</th>
              <th scope="col">Latest</th>
            </tr>
          </thead>
          <tbody>
            {[...families].map(([family, revs]) => (
              <tr>
                <td data-label="Family">
                  <a href={td(`/${encodeURIComponent(family)}`)}>{family}</a>
                </td>
                <td data-label="Active revisions">{revs.length}</td>
                <td data-label="Latest">{revs[revs.length - 1]!.revision}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Page>
  );
}

export function FamilyPage(props: { viewer: Viewer; family: string; rows: TaskDefinitionRow[] }) {
  return (
    <Page title={`Family ${props.family}`} viewer={props.viewer}>
      <ul>
        {props.rows.map((r) => (
          <li>
            <a href={td(`/${encodeURIComponent(r.family)}/${r.revision}`)}>
              {r.family}:{r.revision}
            </a>{" "}
            <Status value={r.status} />
          </li>
        ))}
      </ul>
    </Page>
  );
}

export function RevisionPage(props: { viewer: Viewer; view: Record<string, unknown> & { family: string; revision: number; status: string } }) {
  const { view } = props;
  return (
    <Page title={`${view.family}:${view.revision}`} viewer={props.viewer}>
      <p>
        <Status value={view.status} />
      </p>
      {props.viewer.canWrite && view.status === "ACTIVE" && (
        <form method="post" action={td(`/${encodeURIComponent(view.family)}/${view.revision}/deregister`)}>
          <Csrf viewer={props.viewer} />
          <button type="submit">Deregister…</button>
        </form>
      )}
      <pre class="json" tabindex={0}>
        {JSON.stringify(view, null, 2)}
      </pre>
    </Page>
  );
}

export function RegisterPage(props: { viewer: Viewer; text?: string; error?: { message: string; fields: { path: string; message: string }[] } }) {
  return (
    <Page title="Register a task definition" viewer={props.viewer}>
      <p>Paste a task definition in ECS's JSON format (what <code>aws ecs register-task-definition --cli-input-json</code> takes).</p>
      {props.error && <FieldErrors message={props.error.message} fields={props.error.fields} />}
      <form method="post" action={td()} class="card">
        <Csrf viewer={props.viewer} />
        <label>
          Task definition JSON
          <textarea name="json" rows={20} spellcheck={false} required>
            {props.text ?? ""}
          </textarea>
        </label>
        <button type="submit">Register</button>
      </form>
    </Page>
  );
}
