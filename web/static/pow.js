// veil proof of work: solves the challenge of a form (sign-in, sign-up,
// recovery), so that a person the throttle has slowed down can try again
// without waiting, and lends its solver to passkey.js (window.veilPow).
// Without this script the form still works, slower (the server's slow
// lane).
//
// The challenge asks for a solution S such that SHA-256(token + ":" + S)
// starts with `difficulty` zero bits. S is a run of "0" that pads the
// message to whole 64-byte blocks, then a 10-digit counter: every try
// hashes one block from a state computed once. Plain JavaScript, because
// crypto.subtle exists only in secure contexts and costs a promise per try.
(function () {
  "use strict";

  var K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ]);
  var W = new Int32Array(64);

  // compress runs SHA-256's compression of the block in W[0..15] on the
  // state st (8 words) and writes the result to out.
  function compress(st, out) {
    var i, a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
    for (i = 16; i < 64; i++) {
      var x = W[i - 15], y = W[i - 2];
      var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    for (i = 0; i < 64; i++) {
      var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      var t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
      var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      var t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    out[0] = (st[0] + a) | 0; out[1] = (st[1] + b) | 0; out[2] = (st[2] + c) | 0; out[3] = (st[3] + d) | 0;
    out[4] = (st[4] + e) | 0; out[5] = (st[5] + f) | 0; out[6] = (st[6] + g) | 0; out[7] = (st[7] + h) | 0;
  }

  // solver returns a function that tries up to n counters and returns the
  // solution it found, or null.
  function solver(token, bits) {
    var prefix = token + ":";
    var pad = (64 - (prefix.length % 64)) % 64;
    var head = prefix + new Array(pad + 1).join("0");
    var mid = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    var i, j, out = new Int32Array(8);
    for (i = 0; i < head.length; i += 64) {
      for (j = 0; j < 16; j++) {
        var p = i + 4 * j;
        W[j] = (head.charCodeAt(p) << 24) | (head.charCodeAt(p + 1) << 16) | (head.charCodeAt(p + 2) << 8) | head.charCodeAt(p + 3);
      }
      compress(mid, mid);
    }
    var bitLen = (head.length + 10) * 8;
    var digits = [48, 48, 48, 48, 48, 48, 48, 48, 48, 48];
    var mask = bits >= 32 ? -1 : ~(-1 >>> bits);
    function next() {
      for (var k = 9; k >= 0; k--) {
        if (digits[k] < 57) { digits[k]++; return true; }
        digits[k] = 48;
      }
      return false;
    }
    return function (n) {
      for (var t = 0; t < n; t++) {
        var d = digits;
        W[0] = (d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3];
        W[1] = (d[4] << 24) | (d[5] << 16) | (d[6] << 8) | d[7];
        W[2] = (d[8] << 24) | (d[9] << 16) | 0x8000;
        for (j = 3; j < 15; j++) W[j] = 0;
        W[15] = bitLen;
        compress(mid, out);
        if ((out[0] & mask) === 0) {
          return new Array(pad + 1).join("0") + String.fromCharCode.apply(null, d);
        }
        if (!next()) return null;
      }
      return null;
    };
  }

  // solve finds a proof ("token:solution") of token at bits and hands it
  // to done, in slices of 40 ms so that the page stays responsive.
  function solve(token, bits, done) {
    var attempt = solver(token, bits);
    function step() {
      var until = Date.now() + 40;
      while (Date.now() < until) {
        var s = attempt(2000);
        if (s !== null) {
          done(token + ":" + s);
          return;
        }
      }
      setTimeout(step, 0);
    }
    setTimeout(step, 0);
  }

  function start() {
    var input = document.querySelector('input[name="proof"][data-challenge]');
    if (!input) return;
    var form = input.form, status = document.getElementById("pow-status");
    var solved = false, submitWanted = false;
    // The status line is hidden in the page: without JavaScript nothing
    // runs a check, and the <noscript> text says what to do instead.
    if (status) status.hidden = false;
    function say(text) { if (status && text) status.textContent = text; }
    function msg(name, fallback) { return (status && status.getAttribute("data-" + name)) || fallback; }
    form.addEventListener("submit", function (ev) {
      if (solved) return;
      ev.preventDefault();
      submitWanted = true;
      say(msg("waiting", "Almost done: the form will be sent as soon as the check is finished."));
    });
    solve(input.getAttribute("data-challenge"), parseInt(input.getAttribute("data-difficulty"), 10), function (proof) {
      input.value = proof;
      solved = true;
      say(msg("solved", "Check finished. You can send the form."));
      if (submitWanted) form.submit();
    });
  }

  // passkey.js, which posts JSON rather than a form, solves the
  // challenges of its answers with the same code.
  if (typeof window !== "undefined") window.veilPow = { solve: solve };

  if (typeof document !== "undefined") {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }
})();
