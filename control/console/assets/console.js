// The console's whole client layer: live regions refreshed when the server says something changed
// (server-sent events, no polling), the log tail, and small conveniences. Pages work without it.

const live = (document.body.dataset.live || "").split(" ").filter(Boolean);
const status = document.getElementById("live-status");
const say = (text) => {
  if (status) status.textContent = text;
};

let inFlight = false;
let again = false;

/** Re-reads this page and swaps in its live regions (forms outside them are left alone). */
async function refresh() {
  if (inFlight) {
    again = true;
    return;
  }
  inFlight = true;
  try {
    const res = await fetch(location.href, { headers: { accept: "text/html" }, credentials: "same-origin" });
    if (res.redirected && res.url.includes("/console/login")) {
      location.assign(res.url);
      return;
    }
    if (!res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), "text/html");
    for (const fresh of doc.querySelectorAll("[data-live-region]")) {
      const current = document.getElementById(fresh.id);
      if (current && current.innerHTML !== fresh.innerHTML) current.replaceWith(document.importNode(fresh, true));
    }
  } catch {
    // the next change or reconnect tries again
  } finally {
    inFlight = false;
    if (again) {
      again = false;
      void refresh();
    }
  }
}

if (live.length && "EventSource" in window) {
  const events = new EventSource("/console/events");
  let lost = false;
  events.addEventListener("hello", () => {
    say("Live updates on.");
    // Whatever changed while the stream was down: read the page once.
    if (lost) void refresh();
    lost = false;
  });
  events.addEventListener("change", (e) => {
    const { kinds } = JSON.parse(e.data);
    if (kinds.some((k) => live.includes(k))) void refresh();
  });
  events.addEventListener("error", () => {
    lost = true;
    say("Live updates paused: reconnecting…");
  });
}

for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form && select.form.submit());
}

for (const form of document.querySelectorAll("form[data-log-tail]")) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const out = document.getElementById("log-output");
    const url = new URL(form.action, location.href);
    for (const [k, v] of new FormData(form)) url.searchParams.set(k, String(v));
    out.textContent = "Loading…";
    const res = await fetch(url, { credentials: "same-origin" });
    // textContent: a log line is shown as text, never as markup.
    out.textContent = (await res.text()) || "(no output)";
  });
}
