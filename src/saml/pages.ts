/**
 * The pages a person sees at the end of a SAML exchange: plain HTML, no script, nothing from the
 * assertion echoed back, never a stack trace. The request id lets support find the audit event.
 * Their one stylesheet is allowed by its hash in the Content-Security-Policy (http/security-headers.ts).
 */

/** The pages' stylesheet, inline; app.ts gives it to the security headers, which allow exactly it. */
export const PAGE_STYLE = "body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2933}h1{font-size:1.4rem}.ref{color:#616e7c;font-size:.85rem}button{font:inherit;padding:.5rem 1rem}";

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>${PAGE_STYLE}</style></head>
<body>${body}</body>
</html>
`;
}

export function refusalPage(title: string, message: string, requestId: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>\n<p class="ref">Reference: ${escapeHtml(requestId)}</p>`);
}

/**
 * The refusal page for an error the SAML edge did not answer itself, by the status the shared
 * translation gave it (http/error-handler.ts): it says what a person can do about it, never what
 * went wrong inside.
 */
export function errorPage(status: number, requestId: string): string {
  if (status === 503) return refusalPage("Try again in a moment", "Sign-in is briefly unavailable. Please try again in a moment.", requestId);
  if (status >= 500) {
    return refusalPage(
      "Something went wrong",
      "Gatehouse could not complete this request. Please try again; if it keeps failing, give the reference below to your administrator.",
      requestId,
    );
  }
  return refusalPage("Request refused", "This request could not be accepted. Please start again from your application.", requestId);
}

/**
 * After signing out. `atIdentityProvider`: the identity provider confirmed the end of its session
 * too (single logout). `continueTo`: a path on this site to go on to (never another origin).
 */
export function signedOutPage(requestId: string, options: { atIdentityProvider?: boolean; continueTo?: string } = {}): string {
  const message = options.atIdentityProvider
    ? "You are signed out of this application and of your identity provider."
    : "You are signed out of this application. To end your session at your identity provider too, sign out there.";
  const link = options.continueTo && options.continueTo !== "/" ? `\n<p><a href="${escapeHtml(options.continueTo)}">Continue</a></p>` : "";
  return page("Signed out", `<h1>Signed out</h1>\n<p>${message}</p>${link}\n<p class="ref">Reference: ${escapeHtml(requestId)}</p>`);
}

/** After a SAML test sign-in: nobody was signed in; the result waits in the console. */
export function samlTestCompletedPage(requestId: string): string {
  return page(
    "Test sign-in complete",
    `<h1>Test sign-in complete</h1>\n<p>The identity provider's answer was checked and recorded. Nobody was signed in. Close this window and see the result in the console.</p>\n<p class="ref">Reference: ${escapeHtml(requestId)}</p>`,
  );
}
