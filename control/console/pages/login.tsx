import { base, Page } from "../layout.tsx";

export function LoginPage(props: { error?: string }) {
  return (
    <Page title="Log in">
      <form method="post" action={`${base}/login`} class="card narrow">
        <p>Log in with an API token (<code>flotilla tokens create</code>, or the admin token the control printed at its first start).</p>
        {props.error && (
          <p class="errors" role="alert">
            {props.error}
          </p>
        )}
        <label>
          API token
          <input type="password" name="token" autocomplete="current-password" required autofocus />
        </label>
        <button type="submit">Log in</button>
      </form>
    </Page>
  );
}
