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
  events.addEventListener("hello", () => {
    say("Live updates on.");
    // Whatever changed between rendering this page and the stream opening (or while it was down)
    // was announced to nobody: read the page once now.
    void refresh();
  });
  events.addEventListener("change", (e) => {
    const { kinds } = JSON.parse(e.data);
    if (kinds.some((k) => live.includes(k))) void refresh();
  });
  events.addEventListener("error", () => {
    say("Live updates paused: reconnecting…");
  });
}

for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form && select.form.submit());
}

for (const form of document.querySelectorAll("form[data-log-tail]")) {
  const out = document.getElementById("log-output");
  const pause = form.querySelector("[data-log-pause]");
  let reading;
  const stop = () => {
    if (reading) reading.abort();
    reading = undefined;
    pause.disabled = true;
  };
  pause.addEventListener("click", stop);
  form.addEventListener("submit", async (e) => {
    // Download is a plain form submit (the server sends it as a file); the rest is read here.
    if (e.submitter && e.submitter.hasAttribute("data-log-download")) return;
    e.preventDefault();
    stop();
    const url = new URL(form.action, location.href);
    for (const [k, v] of new FormData(form)) url.searchParams.set(k, String(v));
    out.textContent = "";
    reading = new AbortController();
    pause.disabled = false;
    try {
      const res = await fetch(url, { credentials: "same-origin", signal: reading.signal });
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        // textContent: a log line is shown as text, never as markup.
        out.textContent += decoder.decode(value, { stream: true });
        out.scrollTop = out.scrollHeight;
      }
      if (!out.textContent) out.textContent = "(no output)";
    } catch (err) {
      if (err.name !== "AbortError") out.textContent += "\n(" + err.message + ")";
    } finally {
      pause.disabled = true;
    }
  });
}
