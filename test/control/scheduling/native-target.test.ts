import { expect, test } from "bun:test";
import { nativeTarget } from "../../../control/scheduling/placement-store.ts";

// What the placement store's own connections open for each kind of --db URL (docs/operations.md).
test("a file database is opened by its path; a libSQL server by its URL with the token as an option", () => {
  expect(nativeTarget({ file: "/var/lib/flotilla/flotilla.db", url: "file:/var/lib/flotilla/flotilla.db" })).toEqual({ path: "/var/lib/flotilla/flotilla.db", remote: false });
  expect(nativeTarget({ file: undefined, url: "libsql://db.example.com" })).toEqual({ path: "https://db.example.com", remote: true });
  expect(nativeTarget({ file: undefined, url: "libsql://10.0.0.7:8080?tls=0&authToken=abc.def" })).toEqual({ path: "http://10.0.0.7:8080", remote: true, authToken: "abc.def" });
  expect(nativeTarget({ file: undefined, url: "https://flotilla-org.turso.io?authToken=t" })).toEqual({ path: "https://flotilla-org.turso.io", remote: true, authToken: "t" });
});

test("an in-memory database is refused with a reason, and a token never appears in the message", () => {
  expect(() => nativeTarget({ file: undefined, url: "file::memory:" })).toThrow("needs a database file or a libSQL server");
  expect(() => nativeTarget({ file: undefined, url: "ftp://x?authToken=secret" })).toThrow(/authToken=…/);
  expect(() => nativeTarget({ file: undefined, url: "ftp://x?authToken=secret" })).not.toThrow(/secret/);
});
