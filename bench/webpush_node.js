// The anchor of bench/mobile.sh: the npm web-push library (the platform
// design's choice) sending the same notifications to the same push service
// as wib: for each, web-push's generateRequestDetails (RFC 8291 encryption
// and the VAPID header, as sendNotification makes them) and a POST over a
// keep-alive agent, at most CONCURRENCY in flight (wib.http_max_concurrency).
//
//   node webpush_node.js WEB_PUSH_DIR send KEYS.json PER_SUB CONCURRENCY TITLE
//       prints {"sent", "created", "seconds", "rate"}
//   node webpush_node.js WEB_PUSH_DIR encrypt KEYS.json COUNT
//       encryptions per second on one core, no network: {"count", "seconds", "rate"}
'use strict';
const crypto = require('crypto');
const http = require('http');
const https = require('https');
const path = require('path');
const fs = require('fs');

const [dir, mode, keysFile, a, b, c] = process.argv.slice(2);
const webpush = require(path.join(dir, 'node_modules', 'web-push'));
const subs = JSON.parse(fs.readFileSync(keysFile)).map((k) => k.subscription);

function note(title) {
  return JSON.stringify({ title, body: 'Open the app to call back.', url: '/calls',
                          id: crypto.randomUUID(), type: 'notification' });
}

if (mode === 'encrypt') {
  const count = Number(a);
  const sub = subs[0];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++)
    webpush.encrypt(sub.keys.p256dh, sub.keys.auth, note('n' + i), 'aes128gcm');
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ count, seconds, rate: Math.round(count / seconds) }));
} else {
  const perSub = Number(a);
  const concurrency = Number(b);
  const title = c;
  const vapid = webpush.generateVAPIDKeys();
  const vapidDetails = { subject: 'mailto:bench@example.test', publicKey: vapid.publicKey, privateKey: vapid.privateKey };
  const agents = { 'http:': new http.Agent({ keepAlive: true, maxSockets: concurrency }),
                   'https:': new https.Agent({ keepAlive: true, maxSockets: concurrency }) };
  const total = perSub * subs.length;
  let next = 0;
  let created = 0;
  let failed = 0;

  function sendOne(i) {
    return new Promise((resolve) => {
      const sub = subs[i % subs.length];
      const details = webpush.generateRequestDetails(sub, note(title + ' ' + i),
                                                     { vapidDetails, TTL: 86400, urgency: 'normal' });
      const url = new URL(details.endpoint);
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(url, { method: 'POST', headers: details.headers, agent: agents[url.protocol] }, (res) => {
        res.resume();
        res.on('end', () => { if (res.statusCode === 201) created++; else failed++; resolve(); });
      });
      req.on('error', () => { failed++; resolve(); });
      req.end(details.body);
    });
  }

  async function worker() {
    while (next < total)
      await sendOne(next++);
  }

  const t0 = process.hrtime.bigint();
  Promise.all(Array.from({ length: concurrency }, worker)).then(() => {
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(JSON.stringify({ sent: total, created, failed, seconds, rate: Math.round(created / seconds) }));
    for (const agent of Object.values(agents)) agent.destroy();
  });
}
