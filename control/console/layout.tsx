import type { Child } from "hono/jsx";
import type { TokenRole } from "../ops/tokens.ts";

/** What every page knows about its viewer: who, what they may do, the CSRF token for its forms. */
export interface Viewer {
  name: string;
  role: TokenRole;
  csrf: string;
  /** False for read-only tokens: no forms are rendered (the server refuses their posts anyway). */
  canWrite: boolean;
  /** Tokens and audit pages (the API's admin-only paths). */
  isAdmin: boolean;
  clusters: string[];
  cluster?: string;
}

export const base = "/console";

export function clusterPath(cluster: string, rest = ""): string {
  return `${base}/clusters/${encodeURIComponent(cluster)}${rest}`;
}

/** The whole page: header with navigation, then the page's own content. */
export function Page(props: { title: string; viewer?: Viewer; live?: string; children?: Child }) {
  const v = props.viewer;
  const cl = v?.cluster;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Flotilla`}</title>
        <link rel="stylesheet" href={`${base}/assets/console.css`} />
        <script type="module" src={`${base}/assets/console.js`}></script>
      </head>
      <body data-live={props.live ?? ""}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href={base}>
            Flotilla
          </a>
          {v && (
            <nav aria-label="Main">
              <a href={cl ? `${base}?cluster=${encodeURIComponent(cl)}` : base}>Overview</a>
              {cl && <a href={clusterPath(cl, "/hosts")}>Hosts</a>}
              {cl && <a href={clusterPath(cl, "/services")}>Services</a>}
              {cl && <a href={clusterPath(cl, "/tasks")}>Tasks</a>}
              <a href={`${base}/task-definitions`}>Task definitions</a>
              {cl && <a href={clusterPath(cl, "/activations")}>Activations</a>}
              {v.isAdmin && <a href={`${base}/tokens`}>Tokens</a>}
              {v.isAdmin && <a href={`${base}/audit`}>Audit</a>}
            </nav>
          )}
          {v && (
            <div class="who">
              {v.clusters.length > 1 && (
                <form method="get" action={base} class="cluster-pick">
                  <label>
                    Cluster{" "}
                    <select name="cluster" data-autosubmit="">
                      {v.clusters.map((n) => (
                        <option value={n} selected={n === cl}>
                          {n}
                        </option>
                      ))}
                    </select>
                  </label>
                  <noscript>
                    <button type="submit">Go</button>
                  </noscript>
                </form>
              )}
              <span>
                {v.name} ({v.role})
              </span>
              <form method="post" action={`${base}/logout`}>
                <input type="hidden" name="_csrf" value={v.csrf} />
                <button type="submit">Log out</button>
              </form>
            </div>
          )}
        </header>
        <main id="main">
          <h1>{props.title}</h1>
          {props.children}
        </main>
        <p id="live-status" class="live-status" role="status" aria-live="polite"></p>
      </body>
    </html>
  );
}

/** A hidden field every form carries: the session's synchronizer token. */
export function Csrf(props: { viewer: Viewer }) {
  return <input type="hidden" name="_csrf" value={props.viewer.csrf} />;
}

/**
 * A status shown with a word and a symbol as well as a colour, so it reads without colour
 * (and in a screen reader): the class only adds the colour.
 */
export function Status(props: { value: string; tone?: "ok" | "warn" | "bad" | "idle" }) {
  const tone = props.tone ?? toneOf(props.value);
  const mark = { ok: "●", warn: "▲", bad: "✖", idle: "○" }[tone];
  return (
    <span class={`status ${tone}`}>
      <span aria-hidden="true">{mark}</span> {props.value}
    </span>
  );
}

export function toneOf(value: string): "ok" | "warn" | "bad" | "idle" {
  switch (value) {
    case "RUNNING":
    case "ACTIVE":
    case "HEALTHY":
    case "OK":
    case "connected":
    case "COMPLETED":
    case "PRIMARY":
      return "ok";
    case "PENDING":
    case "PROVISIONING":
    case "STOPPING":
    case "DRAINING":
    case "IN_PROGRESS":
    case "ACTIVATING":
    case "UNKNOWN":
      return "warn";
    case "STOPPED":
    case "INACTIVE":
      return "idle";
    default:
      return "bad";
  }
}

/** Reserved vs registered as a bar with its numbers in text (the bar alone says nothing to a reader). */
export function Bar(props: { used: number; total: number; unit: string }) {
  const pct = props.total > 0 ? Math.min(100, Math.round((props.used / props.total) * 100)) : 0;
  return (
    <span class="bar-wrap">
      <span class="bar" role="img" aria-label={`${pct}% reserved`}>
        <span class="fill" style={`width:${pct}%`}></span>
      </span>
      <span class="bar-text">
        {props.used}/{props.total} {props.unit} ({pct}%)
      </span>
    </span>
  );
}

export function Time(props: { ms: number | null | undefined }) {
  if (props.ms == null) return <span>—</span>;
  const iso = new Date(props.ms).toISOString();
  return (
    <time datetime={iso} data-relative="">
      {iso.replace("T", " ").slice(0, 19)}Z
    </time>
  );
}

/** Field errors of an operation, each at its path (the ECS field path the operation named). */
export function FieldErrors(props: { fields: { path: string; message: string }[]; message?: string }) {
  if (!props.message && props.fields.length === 0) return null;
  return (
    <div class="errors" role="alert">
      {props.message && <p>{props.message}</p>}
      {props.fields.length > 0 && (
        <ul>
          {props.fields.map((f) => (
            <li data-field-path={f.path}>
              <code>{f.path}</code>: {f.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Notice(props: { text?: string }) {
  return props.text ? (
    <p class="notice" role="status">
      {props.text}
    </p>
  ) : null;
}

/** A confirmation step before a change: the same form again with confirm=yes. */
export function ConfirmPage(props: { viewer: Viewer; title: string; text: string; action: string; fields?: Record<string, string>; yes: string; cancel: string }) {
  return (
    <Page title={props.title} viewer={props.viewer}>
      <p>{props.text}</p>
      <form method="post" action={props.action}>
        <Csrf viewer={props.viewer} />
        {Object.entries(props.fields ?? {}).map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        <input type="hidden" name="confirm" value="yes" />
        <button type="submit">{props.yes}</button> <a href={props.cancel}>Cancel</a>
      </form>
    </Page>
  );
}
