import type { IngressRule } from "../../shared/ingress.ts";
import { invalid } from "../ops/errors.ts";

/**
 * The console's text forms of a service's ingress and DNS names: `8080:80, 9443:443` (listen
 * port : container port) and `www, shop` (aliases). Only the text is read here; what the ports and
 * names may be is CreateService/UpdateService's to check (ops/ingress.ts, ops/service-naming.ts).
 */
export function ingressFromText(text: string | undefined): { containerPort: number; listenPort: number }[] {
  const parts = (text ?? "").split(/[\s,]+/).filter(Boolean);
  return parts.map((p, i) => {
    const m = /^(\d{1,5}):(\d{1,5})$/.exec(p);
    if (!m) throw invalid(`ingress[${i}]: "${p}" is not LISTEN:CONTAINER (e.g. 8080:80)`, [{ path: `ingress[${i}]`, message: `"${p}" is not LISTEN:CONTAINER (e.g. 8080:80)` }]);
    return { listenPort: Number(m[1]), containerPort: Number(m[2]) };
  });
}

export const ingressText = (rules: IngressRule[] | undefined) => (rules ?? []).map((r) => `${r.listenPort}:${r.containerPort}`).join(", ");

export const namesFromText = (text: string | undefined) => (text ?? "").split(/[\s,]+/).filter(Boolean);
