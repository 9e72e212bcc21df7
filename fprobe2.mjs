import { MongoClient } from 'mongodb';
const c = new MongoClient('mongodb://127.0.0.1:27017'); await c.connect();
const db = c.db('probe2');
const big = db.collection('big');
if ((await big.estimatedDocumentCount()) === 0) {
  await big.createIndex({ ul: 1 });
  for (let i = 0; i < 20000; i += 5000) await big.insertMany(Array.from({ length: 5000 }, (_, k) => ({ _id: i + k + 1, ul: `user${i + k}` })));
}
for (let r = 0; r < 3; r++) for (const [name, q] of [['eq', { ul: 'user7777' }], ['_id', { _id: 777 }]]) {
  const t0 = performance.now(); await big.findOne(q); console.log(name, (performance.now() - t0).toFixed(1), 'ms');
}
const t0 = performance.now(); console.log(await big.countDocuments({}), (performance.now() - t0).toFixed(1));
await c.close();
