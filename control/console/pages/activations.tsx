import type { activationView } from "../../ops/activations.ts";
import { clusterPath, Csrf, Page, Status, type Viewer } from "../layout.tsx";
import { Table } from "../table.tsx";

type ActivationView = ReturnType<typeof activationView>;

/**
 * The line a person pastes on a fresh host: the control serves the install script itself. Over
 * TLS the control's CA is pinned for both the download and the agent (`ca.pem` copied first);
 * `--mqtt` only when the broker is not where the script looks by default (the control's host, 1883 or 8883).
 * The code goes in the environment (FLOTILLA_ACTIVATION_CODE, an assignment the shell makes, passed
 * through sudo by --preserve-env), never on a command line, where `ps` would show it to every user.
 */
export function installLine(controlUrl: string, activationId: string, activationCode: string, cluster: string, broker?: { protocol: string; port: number }): string {
  const tls = controlUrl.startsWith("https:");
  const host = new URL(controlUrl).hostname;
  // What install-agent.sh assumes without --mqtt: mqtts://host:8883 for an https control, else mqtt://host:1883.
  const defaultBroker = !broker || (tls ? broker.protocol === "mqtts:" && broker.port === 8883 : broker.protocol === "mqtt:" && broker.port === 1883);
  const mqtt = defaultBroker ? "" : ` --mqtt ${broker!.protocol}//${host.includes(":") ? `[${host}]` : host}:${broker!.port}`;
  const pin = tls ? " --cacert ca.pem" : "";
  const caFile = tls ? " --ca-file ca.pem" : "";
  return `curl -fsSL${pin} ${controlUrl}/install-agent.sh | FLOTILLA_ACTIVATION_CODE=${activationCode} sudo --preserve-env=FLOTILLA_ACTIVATION_CODE bash -s -- --control ${controlUrl}${mqtt}${caFile} --cluster ${cluster} --activation-id ${activationId}`;
}

export function ActivationsPage(props: {
  viewer: Viewer;
  cluster: string;
  activations: ActivationView[];
  created?: { activationId: string; activationCode: string; line: string; expiresAt: string };
}) {
  const { viewer: v, cluster, created } = props;
  return (
    <Page title={`Activations for ${cluster}`} viewer={v}>
      {created && (
        <section class="card created" aria-labelledby="created-h">
          <h2 id="created-h">Activation created</h2>
          <p>Run this on the new host (the code is shown only now){created.line.includes("--cacert") ? "; first copy the control's CA certificate to ca.pem there" : ""}:</p>
          <pre class="install-line" tabindex={0}>
            <code id="install-line">{created.line}</code>
          </pre>
          <p>Expires {created.expiresAt}.</p>
        </section>
      )}
      {v.canWrite && (
        <form method="post" action={clusterPath(cluster, "/activations")} class="card">
          <Csrf viewer={v} />
          <label>
            Hosts it may register
            <input type="number" name="registrationLimit" min="1" max="100000" value="1" required />
          </label>
          <label>
            Valid for (hours)
            <input type="number" name="expiresInHours" min="1" max="720" value="24" required />
          </label>
          <button type="submit">Create activation</button>
        </form>
      )}
      <Table headers={["Activation", "State", "Registrations", "Expires", v.canWrite && "Action"]}>
        {props.activations.map((a) => (
          <tr>
            <td data-label="Activation">{a.activationId}</td>
            <td data-label="State">
              <Status value={a.status} />
            </td>
            <td data-label="Registrations">
              {a.registrationsCount}/{a.registrationLimit}
            </td>
            <td data-label="Expires">{a.expiresAt}</td>
            {v.canWrite && (
              <td data-label="Action">
                {a.status === "ACTIVE" && (
                  <form method="post" action={clusterPath(cluster, `/activations/${encodeURIComponent(a.activationId)}/revoke`)}>
                    <Csrf viewer={v} />
                    <button type="submit">Revoke…</button>
                  </form>
                )}
              </td>
            )}
          </tr>
        ))}
      </Table>
    </Page>
  );
}
