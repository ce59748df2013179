// A local OpenID Connect provider for the portal's tests and `make sso-demo`.
//
// It is the certified `oidc-provider` package with a plain sign-in page of its own:
// the person types an account name and its password from the JSON configuration,
// consent is granted for the requested scopes, and the provider answers the portal.
//
//   node tools/sso-idp/oidc-provider.mjs CONFIG.json
//
// CONFIG.json: { "port": 8899, "host": "127.0.0.1", "issuer": "http://127.0.0.1:8899",
//   "clients": [oidc-provider client metadata ...], "jwks": {"keys": [private JWKs]},
//   "accounts": {"<sub>": {"password": "...", "claims": {"email": "...", ...}}},
//   "idTokenTTL": 3600 }
// It prints "READY <issuer>" once it listens, and stops on SIGTERM.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const host = config.host || '127.0.0.1';
const issuer = config.issuer || `http://${host}:${config.port}`;
const accounts = config.accounts || {};

const MEMBERSHIP_CLAIMS = ['membership_type', 'membership_status', 'career_stage',
  'library_type', 'work_role', 'region', 'chapter', 'groups'];

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title></head>
<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: config.jwks,
  async findAccount(_ctx, sub) {
    const account = accounts[sub];
    if (!account) return undefined;
    return { accountId: sub, async claims() { return { sub, ...account.claims }; } };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    membership: MEMBERSHIP_CLAIMS,
  },
  scopes: ['openid', 'email', 'profile', 'membership'],
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page('Sign out of the association',
          `${form}<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', '<p>You have signed out of the association.</p>');
      },
    },
  },
  pkce: { required: () => true },
  ttl: { IdToken: config.idTokenTTL || 3600 },
  cookies: { keys: ['test-idp-cookie-key-not-a-secret'] },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Sign-in error', `<p>${escapeHtml(out.error)}: ${escapeHtml(out.error_description || '')}</p>`);
  },
});

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function loginForm(uid, error) {
  const err = error ? `<p role="alert">${escapeHtml(error)}</p>` : '';
  return page('Sign in to your association', `${err}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<p><label for="login">Member login</label> <input id="login" name="login" autocomplete="username" required></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p></form>`);
}

const callback = provider.callback();
const server = createServer(async (req, res) => {
  const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(req.url.split('?')[0]);
  if (!match) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET') {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      return res.end(loginForm(details.uid));
    }
    const form = await readForm(req);
    const sub = form.get('login') || '';
    const account = accounts[sub];
    if (!account || account.password !== form.get('password')) {
      res.statusCode = 401;
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      return res.end(loginForm(details.uid, 'That login and password do not match.'));
    }
    const grant = new provider.Grant({ accountId: sub, clientId: details.params.client_id });
    grant.addOIDCScope(String(details.params.scope || 'openid'));
    const grantId = await grant.save();
    return provider.interactionFinished(req, res,
      { login: { accountId: sub }, consent: { grantId } }, { mergeWithLastSubmission: false });
  } catch (err) {
    res.statusCode = 400;
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    return res.end(page('Sign-in error', `<p>${escapeHtml(err.message)}</p>`));
  }
});

server.listen(config.port, host, () => {
  process.stdout.write(`READY ${issuer}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
