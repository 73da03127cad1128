// Preloaded with `node --require` before dynalite's own cli.js: the server ends when the local
// runtime that started it is gone. The runtime holds the write end of this process's stdin and
// never writes to it; the kernel closes it however the runtime ends, SIGKILL included.
process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
process.stdin.resume()
