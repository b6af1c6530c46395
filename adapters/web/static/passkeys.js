// passkeys.js: the console's passkey buttons (WebAuthn). The pages' CSP
// allows no inline script, so the pages only mark their elements with
// data- attributes and this script wires them:
//
//   [data-passkey-register]  the account page's "Add a passkey"
//                            (data-options, data-finish; [data-passkey-add]
//                            is the button, [data-passkey-name] the name)
//   [data-passkey-login]     "Sign in with a passkey" on the sign-in page,
//                            "Use a passkey instead" on the second-factor
//                            page (data-options, data-finish,
//                            data-auth-request, data-next, data-ticket;
//                            data-conditional offers passkeys in the
//                            login field's autofill too)
//   [data-passkey-error]     where a refusal is shown (role="alert")
//   [data-passkey-nojs]      what a page without this script says
//
// Each ceremony is two posts: the first answers {ceremony_id, publicKey}
// (binary fields as base64url), the second sends the browser's credential
// (as PublicKeyCredential.toJSON makes it) and answers {redirect}. A
// refusal is a 4xx with {error}. The CSRF token goes in X-CSRF-Token.
(function () {
  'use strict';

  const supported = typeof window.PublicKeyCredential === 'function' && !!navigator.credentials &&
    typeof navigator.credentials.create === 'function' && typeof navigator.credentials.get === 'function';

  // Failure is a refusal to show as it is.
  class Failure extends Error {
    constructor(message, unavailable) {
      super(message);
      this.unavailable = !!unavailable;
    }
  }
  // Leaving means the page is being replaced: nothing to show.
  class Leaving extends Error {}

  function toBuffer(s) {
    const b64 = String(s).replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '==='.slice((b64.length + 3) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toBase64url(buf) {
    const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    let bin = '';
    for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function withIds(list) {
    return (list || []).map((c) => Object.assign({}, c, { id: toBuffer(c.id) }));
  }

  // creationOptions and requestOptions turn the server's JSON into what
  // navigator.credentials takes: bytes where WebAuthn wants them.
  function creationOptions(pk) {
    const o = Object.assign({}, pk, { challenge: toBuffer(pk.challenge), user: Object.assign({}, pk.user, { id: toBuffer(pk.user.id) }) });
    if (pk.excludeCredentials) o.excludeCredentials = withIds(pk.excludeCredentials);
    return o;
  }

  function requestOptions(pk) {
    const o = Object.assign({}, pk, { challenge: toBuffer(pk.challenge) });
    if (pk.allowCredentials) o.allowCredentials = withIds(pk.allowCredentials);
    return o;
  }

  // credentialJSON is the credential with its bytes as base64url: the
  // browser's own toJSON where there is one.
  function credentialJSON(cred) {
    if (typeof cred.toJSON === 'function') {
      try {
        return cred.toJSON();
      } catch (e) {
        // Fall through to our own encoding.
      }
    }
    const r = cred.response;
    const out = {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      clientExtensionResults: typeof cred.getClientExtensionResults === 'function' ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(r.clientDataJSON) },
    };
    if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
    if (r.attestationObject) {
      out.response.attestationObject = toBase64url(r.attestationObject);
      if (typeof r.getTransports === 'function') out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toBase64url(r.authenticatorData);
      out.response.signature = toBase64url(r.signature);
      if (r.userHandle) out.response.userHandle = toBase64url(r.userHandle);
    }
    return out;
  }

  // csrf is the page's CSRF token: a form's hidden input, or the one the
  // body gives htmx.
  function csrf() {
    const input = document.querySelector('input[name=csrf]');
    if (input && input.value) return input.value;
    try {
      return JSON.parse(document.body.getAttribute('hx-headers') || '{}')['X-CSRF-Token'] || '';
    } catch (e) {
      return '';
    }
  }

  async function post(url, body) {
    let res;
    try {
      res = await fetch(url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf() },
        body: JSON.stringify(body || {}),
      });
    } catch (e) {
      throw new Failure('The server could not be reached. Check your connection and try again.');
    }
    if (!(res.headers.get('Content-Type') || '').includes('application/json')) {
      if (res.redirected) {
        // Signed out meanwhile, or a password change is due: the page
        // itself knows where to go.
        window.location.reload();
        throw new Leaving();
      }
      if (res.status === 400 || res.status === 403) throw new Failure('This page expired. Reload it and try again.');
      throw new Failure('Something went wrong on our side. Try again in a moment.');
    }
    const data = await res.json();
    if (!res.ok) {
      if (data.redirect) {
        window.location.assign(data.redirect);
        throw new Leaving();
      }
      throw new Failure(data.error || 'Something went wrong on our side. Try again in a moment.', data.unavailable);
    }
    return data;
  }

  function describe(e) {
    if (e instanceof Failure) return e.message;
    switch (e && e.name) {
      case 'NotAllowedError':
        return 'The passkey request was cancelled or timed out. Try again.';
      case 'InvalidStateError':
        return 'This device already holds a passkey for your account.';
      case 'SecurityError':
        return 'This site’s address does not allow passkeys.';
      case 'NotSupportedError':
        return 'This browser or device cannot make this kind of passkey.';
    }
    return 'The passkey could not be used. Try again.';
  }

  function show(box, e) {
    if (e instanceof Leaving) return;
    if (e && e.unavailable) {
      box.hidden = true;
      return;
    }
    const alert = box.querySelector('[data-passkey-error]');
    alert.textContent = describe(e);
    alert.hidden = false;
  }

  function clear(box) {
    const alert = box.querySelector('[data-passkey-error]');
    alert.hidden = true;
    alert.textContent = '';
  }

  function busy(button, on) {
    button.disabled = on;
    if (on) button.setAttribute('aria-busy', 'true');
    else button.removeAttribute('aria-busy');
  }

  function setupRegister(box) {
    document.querySelectorAll('[data-passkey-nojs]').forEach((e) => {
      if (supported) e.hidden = true;
      else e.textContent = 'This browser cannot use passkeys. Try another browser or device.';
    });
    if (!supported) return;
    box.hidden = false;
    const button = box.querySelector('[data-passkey-add]');
    const name = box.querySelector('[data-passkey-name]');
    button.addEventListener('click', async () => {
      clear(box);
      busy(button, true);
      try {
        const cer = await post(box.dataset.options, {});
        const cred = await navigator.credentials.create({ publicKey: creationOptions(cer.publicKey) });
        if (!cred) throw new Failure('No passkey was made. Try again.');
        const done = await post(box.dataset.finish, {
          ceremony_id: cer.ceremony_id,
          credential: credentialJSON(cred),
          name: name ? name.value.trim() : '',
        });
        window.location.assign(done.redirect);
        throw new Leaving();
      } catch (e) {
        if (e instanceof Leaving) return;
        show(box, e);
        busy(button, false);
      }
    });
    if (name) {
      name.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') {
          ev.preventDefault();
          button.click();
        }
      });
    }
  }

  function setupLogin(box) {
    if (!supported) return;
    box.hidden = false;
    const button = box.querySelector('[data-passkey-signin]');
    // conditional is the pending autofill request, aborted when the button
    // asks instead.
    let conditional = null;

    const finish = async (cer, cred) => {
      const done = await post(box.dataset.finish, {
        ceremony_id: cer.ceremony_id,
        credential: credentialJSON(cred),
        auth_request: box.dataset.authRequest || '',
        next: box.dataset.next || '',
        mfa_ticket: box.dataset.ticket || '',
      });
      window.location.assign(done.redirect);
      throw new Leaving();
    };
    const begin = () => post(box.dataset.options, { mfa_ticket: box.dataset.ticket || '' });

    // autofill offers this site's passkeys in the login field's
    // suggestions, where the browser can (conditional mediation).
    const autofill = async () => {
      if (!('conditional' in box.dataset) || typeof PublicKeyCredential.isConditionalMediationAvailable !== 'function') return;
      let available = false;
      try {
        available = await PublicKeyCredential.isConditionalMediationAvailable();
      } catch (e) {
        available = false;
      }
      if (!available || conditional) return;
      const ctl = new AbortController();
      conditional = ctl;
      let cer;
      try {
        cer = await begin();
      } catch (e) {
        if (conditional === ctl) conditional = null;
        // Passkeys off: the button goes too. Anything else: the button
        // still works.
        if (!ctl.signal.aborted && e && e.unavailable) show(box, e);
        return;
      }
      if (ctl.signal.aborted) return;
      let cred;
      try {
        cred = await navigator.credentials.get({ publicKey: requestOptions(cer.publicKey), mediation: 'conditional', signal: ctl.signal });
      } catch (e) {
        // Nobody asked: the autofill fails silently (the button still
        // says what is wrong when pressed).
        if (conditional === ctl) conditional = null;
        return;
      }
      if (ctl.signal.aborted || !cred) return;
      conditional = null;
      clear(box);
      busy(button, true);
      try {
        await finish(cer, cred);
      } catch (e) {
        if (e instanceof Leaving) return;
        show(box, e);
        busy(button, false);
        again();
      }
    };
    // again offers the autofill anew after a failed attempt, a few times
    // (a browser that refuses at once must not make it spin).
    let restarts = 0;
    const again = () => {
      if (restarts < 3) {
        restarts++;
        autofill();
      }
    };

    button.addEventListener('click', async () => {
      if (conditional) {
        conditional.abort();
        conditional = null;
      }
      clear(box);
      busy(button, true);
      try {
        const cer = await begin();
        const cred = await navigator.credentials.get({ publicKey: requestOptions(cer.publicKey), mediation: 'optional' });
        if (!cred) throw new Failure('No passkey was chosen. Try again.');
        await finish(cer, cred);
      } catch (e) {
        if (e instanceof Leaving) return;
        show(box, e);
        busy(button, false);
        again();
      }
    });

    autofill();
  }

  function start() {
    document.querySelectorAll('[data-passkey-register]').forEach(setupRegister);
    document.querySelectorAll('[data-passkey-login]').forEach(setupLogin);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
