// veil passkeys: sign-in (autofill, identifier-first and discoverable),
// passkeys as a second factor, and registration on the security page.
// Everything else on these pages works without this script; passkeys
// need it (WebAuthn is a JavaScript API), and without it the pages say so.
(function () {
  "use strict";

  if (!window.PublicKeyCredential) {
    return;
  }

  function b64urlToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }

  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function requestOptions(o) {
    var pk = o.publicKey;
    pk.challenge = b64urlToBuf(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    return pk;
  }

  function creationOptions(o) {
    var pk = o.publicKey;
    pk.challenge = b64urlToBuf(pk.challenge);
    pk.user.id = b64urlToBuf(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    return pk;
  }

  function credentialJSON(cred) {
    var r = cred.response, json = {
      id: cred.id, rawId: bufToB64url(cred.rawId), type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: bufToB64url(r.clientDataJSON) }
    };
    if (cred.authenticatorAttachment) { json.authenticatorAttachment = cred.authenticatorAttachment; }
    if (r.attestationObject) {
      json.response.attestationObject = bufToB64url(r.attestationObject);
      if (r.getTransports) { json.response.transports = r.getTransports(); }
    } else {
      json.response.authenticatorData = bufToB64url(r.authenticatorData);
      json.response.signature = bufToB64url(r.signature);
      if (r.userHandle) { json.response.userHandle = bufToB64url(r.userHandle); }
    }
    return json;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().then(function (j) { return { ok: res.ok, status: res.status, body: j }; });
    });
  }

  // postSolving is post for a sign-in step the throttle may hold back: a
  // 429 that carries a proof-of-work challenge is solved with pow.js's
  // solver and the same body sent again with the proof, as the password
  // form does (a finish step's assertion is not spent by a held-back
  // attempt, so it can be sent again). A 429 without a challenge asks to
  // wait, and is answered as it is.
  function postSolving(url, body, tries) {
    return post(url, body).then(function (r) {
      var c = r.body && r.body.challenge;
      if (r.status !== 429 || !c || tries <= 0 || !window.veilPow) { return r; }
      show(status, "Your browser is running a short check before it can sign you in. This takes a few seconds.");
      return new Promise(function (resolve) { window.veilPow.solve(c.token, c.difficulty, resolve); }).then(function (proof) {
        body.proof = proof;
        return postSolving(url, body, tries - 1);
      });
    });
  }

  function show(el, text) {
    if (el) { el.textContent = text; el.hidden = false; }
  }

  var status = document.getElementById("passkey-status");
  var returnTo = document.querySelector("input[name=rd]");
  var after = function (body) { window.location.assign(body.return_to || "/"); };

  // signIn asks the authenticator and finishes at url with the answer
  // under field; mediation "conditional" is the autofill of the login form.
  var pending = null;
  function signIn(identifier, mediation, url, field) {
    if (pending) { pending.abort(); }
    pending = new AbortController();
    var req = identifier ? { identifier: identifier } : {};
    return postSolving("/api/passkey/login/options", req, 2).then(function (r) {
      if (!r.ok) { throw new Error(r.body.message); }
      return navigator.credentials.get({ publicKey: requestOptions(r.body), mediation: mediation, signal: pending.signal });
    }).then(function (cred) {
      var body = {};
      body[field] = credentialJSON(cred);
      if (returnTo) { body.return_to = returnTo.value; }
      return postSolving(url, body, 2);
    }).then(function (r) {
      if (!r.ok) { throw new Error(r.body.message); }
      after(r.body);
    }).catch(function (e) {
      if (e && e.name === "AbortError") { return; }
      show(status, (e && e.name === "NotAllowedError") ? "No passkey was used." : (e && e.message) || "The passkey did not sign you in.");
    });
  }

  var loginButton = document.getElementById("passkey-login");
  if (loginButton) {
    loginButton.hidden = false;
    loginButton.addEventListener("click", function () {
      var id = document.getElementById("identifier");
      signIn(id && id.value.trim(), "optional", "/api/passkey/login/finish", "credential");
    });
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (ok) { signIn("", "conditional", "/api/passkey/login/finish", "credential"); }
      });
    }
  }

  var secondButton = document.getElementById("passkey-second-factor");
  if (secondButton) {
    secondButton.hidden = false;
    secondButton.addEventListener("click", function () {
      signIn("", "optional", "/api/login/second-factor", "assertion");
    });
  }

  var addButton = document.getElementById("passkey-add");
  if (addButton) {
    addButton.hidden = false;
    addButton.addEventListener("click", function () {
      var name = document.getElementById("passkey-name");
      post("/api/passkey/register/options", {}).then(function (r) {
        if (!r.ok) { throw new Error(r.body.message); }
        return navigator.credentials.create({ publicKey: creationOptions(r.body) });
      }).then(function (cred) {
        return post("/api/passkey/register/finish", { name: name ? name.value : "", credential: credentialJSON(cred) });
      }).then(function (r) {
        if (!r.ok) { throw new Error(r.body.message); }
        var codes = r.body.recovery_codes;
        if (!codes) { window.location.reload(); return; }
        var list = document.getElementById("passkey-recovery-codes");
        codes.forEach(function (c) {
          var li = document.createElement("li"), code = document.createElement("code");
          code.textContent = c; li.appendChild(code); list.appendChild(li);
        });
        document.getElementById("passkey-recovery").hidden = false;
        show(status, "Passkey added.");
      }).catch(function (e) {
        show(status, (e && e.name === "NotAllowedError") ? "No passkey was added." : (e && e.message) || "The passkey could not be added.");
      });
    });
  }
})();
