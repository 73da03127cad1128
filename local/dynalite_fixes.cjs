// Preloaded with `node --require` before dynalite's own cli.js: the one place dynalite 4.0.0 is
// repaired. dynalite reads its tables through streams over abstract-level iterators, and a stream
// that ends or is destroyed closes its iterator with `iterator.return()`, a method abstract-level 3's
// iterators do not have (theirs is `close()`): no Query, Scan or ListTables ever closed its LevelDB
// iterator. Each open iterator holds a snapshot, so compaction kept every version written after it,
// and pins the table files it started on, so LevelDB never deleted the files compaction replaced:
// the table's folder grew with every write. This can go once dynalite closes its iterators itself.
const { createRequire } = require('node:module')

const fromDynalite = createRequire(require.resolve('dynalite'))
// abstract-level as dynalite's two stores load it: LevelDB on disk (`level`) and memory-level.
const stores = [
  createRequire(fromDynalite.resolve('level')).resolve('classic-level'),
  fromDynalite.resolve('memory-level'),
]
for (const store of stores) {
  const { AbstractIterator, AbstractKeyIterator, AbstractValueIterator } = createRequire(store)('abstract-level')
  for (const iterator of [AbstractIterator, AbstractKeyIterator, AbstractValueIterator]) {
    iterator.prototype.return ??= function () {
      return this.close()
    }
  }
}
