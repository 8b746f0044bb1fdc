// Runs web-push-testing's push service in the foreground on 127.0.0.1:<port>, for
// tests/api/push_peer.rs. Usage: node tools/push-peer/serve.js <port>
//
// Why not `web-push-testing start`: that command (src/cli.js) spawns
// `node src/bin/server.js <port>` detached, writes its PID to ./.node-persist/ of its working
// directory and exits; `stop` reads it back. `node src/bin/server.js <port>` alone already
// runs in the foreground, but it listens on every interface and names its endpoints
// `http://localhost:<port>/notify/<clientHash>`. This file does the same as src/bin/server.js
// with two changes: it listens on 127.0.0.1 only, and endpoints name 127.0.0.1, so a sender
// never has to guess between ::1 and 127.0.0.1. It reaches into the server's `_app` and
// `setRequestHandlers()`, so package.json pins web-push-testing to exactly 1.2.2.
//
// It exits when its standard input closes: the test that started it holds that pipe, so a
// test process killed before its Drop ran (a nextest timeout) does not leave it behind.
'use strict';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
	console.error('usage: node serve.js <port>');
	process.exit(2);
}

const {PushApiModel} = require('web-push-testing/src/PushApiModel.js');
const TestingServer = require('web-push-testing/src/server.js');

const model = new PushApiModel();
const server = new TestingServer(model, port);
model.notifyUrl = `http://127.0.0.1:${port}/notify/`; // the constructor set it to localhost

server._server = server._app.listen(port, '127.0.0.1', () => {
	console.log(`Server running on 127.0.0.1:${port}`);
});
server._server.on('error', err => {
	console.error(err);
	process.exit(1);
});
server.setRequestHandlers();

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
