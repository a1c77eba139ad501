#!/usr/bin/env node
// A TLS-terminating reverse proxy, as a deployment puts in front of `laurel serve`: it listens on
// https://localhost:<port> with the given certificate and forwards every request to http://127.0.0.1:<target>.
// The tests use it to give Laurel the HTTPS origin a did:web issuer needs.
//
//   node https-proxy.mjs <cert.pem> <key.pem> <port> <target port>
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const [cert, key, port, target] = process.argv.slice(2);
const server = https.createServer({cert: fs.readFileSync(cert), key: fs.readFileSync(key)}, (req, res) => {
  const upstream = http.request({host: '127.0.0.1', port: Number(target), path: req.url, method: req.method,
    headers: {...req.headers, 'x-forwarded-proto': 'https'}}, (up) => {
    res.writeHead(up.statusCode, up.headers);
    up.pipe(res);
  });
  upstream.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
  req.pipe(upstream);
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
