import type { auditView } from "../../ops/audit.ts";
import { TOKEN_ROLES, type TokenView } from "../../ops/tokens.ts";
import { base, Csrf, FieldErrors, Page, Status, type Viewer } from "../layout.tsx";
import { Table } from "../table.tsx";

type AuditView = ReturnType<typeof auditView>;

export function TokensPage(props: {
  viewer: Viewer;
  tokens: TokenView[];
  created?: { name: string; token: string };
  error?: { message: string; fields: { path: string; message: string }[] };
}) {
  const { viewer: v } = props;
  return (
    <Page title="API tokens" viewer={v}>
      {props.created && (
        <section class="card created" aria-labelledby="token-h">
          <h2 id="token-h">Token {props.created.name} created</h2>
          <p>Copy it now: it is shown only once.</p>
          <pre tabindex={0}>
            <code id="new-token">{props.created.token}</code>
          </pre>
        </section>
      )}
      {props.error && <FieldErrors message={props.error.message} fields={props.error.fields} />}
      <form method="post" action={`${base}/tokens`} class="card filters">
        <Csrf viewer={v} />
        <label>
          Name
          <input name="name" required maxlength={128} />
        </label>
        <label>
          Role
          <select name="role">
            {TOKEN_ROLES.map((r) => (
              <option value={r} selected={r === "read-only"}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Create token</button>
      </form>
      <Table headers={["Name", "Role", "Created", "State", "Action"]}>
        {props.tokens.map((t) => (
          <tr>
            <td data-label="Name">
              {t.name}
              <br />
              <small>{t.tokenId}</small>
            </td>
            <td data-label="Role">{t.role}</td>
            <td data-label="Created">{t.createdAt}</td>
            <td data-label="State">{t.revokedAt ? <Status value="REVOKED" tone="idle" /> : <Status value="ACTIVE" />}</td>
            <td data-label="Action">
              {!t.revokedAt && (
                <form method="post" action={`${base}/tokens/${encodeURIComponent(t.tokenId)}/revoke`}>
                  <Csrf viewer={v} />
                  <button type="submit">Revoke…</button>
                </form>
              )}
            </td>
          </tr>
        ))}
      </Table>
    </Page>
  );
}

export function ConfirmRevokePage(props: { viewer: Viewer; token: TokenView }) {
  return (
    <Page title="Revoke token?" viewer={props.viewer}>
      <p>{`Revoke ${props.token.name} (${props.token.role})? Every request and console session with it stops working at once.`}</p>
      <form method="post" action={`${base}/tokens/${encodeURIComponent(props.token.tokenId)}/revoke`}>
        <Csrf viewer={props.viewer} />
        <input type="hidden" name="confirm" value="yes" />
        <button type="submit">Yes, revoke</button> <a href={`${base}/tokens`}>Cancel</a>
      </form>
    </Page>
  );
}

export function AuditPage(props: { viewer: Viewer; entries: AuditView[]; next?: number }) {
  return (
    <Page title="Audit log" viewer={props.viewer}>
      <Table headers={["When", "Who", "Action", "Request", "Result"]}>
        {props.entries.map((e) => (
          <tr>
            <td data-label="When">{e.at}</td>
            <td data-label="Who">{e.who ? e.who.name : "—"}</td>
            <td data-label="Action">{e.action}</td>
            <td data-label="Request">
              <code>
                {e.method} {e.path}
              </code>
            </td>
            <td data-label="Result">
              <Status value={String(e.status)} tone={e.status < 400 ? "ok" : "bad"} />
            </td>
          </tr>
        ))}
      </Table>
      {props.next !== undefined && (
        <nav class="pager" aria-label="Pages">
          <a href={`${base}/audit?before=${props.next}`}>Older →</a>
        </nav>
      )}
    </Page>
  );
}
