// A real OpenID provider (the OpenID Certified `oidc-provider` package) for the single sign-on
// tests. Started by tests/sso/conftest.py: `node provider.mjs CONFIG.json`, where the JSON gives
// the issuer, the port, the signing keys (private JWKs), the client and the accounts. Any login
// typed at its development login page is an account; its claims come from `accounts`.
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const accounts = config.accounts;
const customClaims = ["name", "preferred_username", "email", "groups", "nhsid_nrbac_roles", "authentication_assurance_level"];

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;
}

const provider = new Provider(config.issuer, {
  clients: [config.client],
  jwks: config.jwks,
  // Every claim the account has goes in the ID token too (as CIS2 and Entra ID put theirs).
  conformIdTokenClaims: false,
  claims: { openid: ["sub"], profile: customClaims },
  scopes: ["openid", "profile", "offline_access"],
  pkce: { required: () => true },
  cookies: { keys: ["boardround-test-provider-cookies"] },
  features: {
    devInteractions: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = page("Sign out", `${form}<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>`);
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = page("Signed out", "<h1>Signed out of the provider</h1>");
      },
    },
  },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  // No consent screen: a trust's provider grants its own applications.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid profile");
    grant.addOIDCClaims(customClaims);
    await grant.save();
    return grant;
  },
  ttl: { IdToken: config.idTokenTtl || 3600 },
  // Boardround listens on 127.0.0.1 in the tests: let the back-channel logout call reach it
  // (the package refuses loopback and private addresses by default, against SSRF).
  fetch: (url, options) => {
    delete options.dispatcher;
    return globalThis.fetch(url, options);
  },
});
provider.proxy = false;
// http on 127.0.0.1: development only, as every test run is.
provider.on("server_error", (ctx, err) => console.error("server_error", err));
provider.on("backchannel.error", (ctx, err, client) => console.error("backchannel.error", err.message));
provider.on("backchannel.success", () => console.log("backchannel.success"));

provider.listen(config.port, "127.0.0.1", () => {
  console.log(`listening ${config.issuer}`);
});
