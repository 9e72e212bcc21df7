// npm run infra:up [-- --redis-cluster] | infra:down | infra:status
import { provisionedTopics } from '@suite/contracts';
import { infraDown, infraStatus, infraUp, wantsRedisCluster } from './suite.js';
import { logDir } from './paths.js';

const command = process.argv[2];
const started = Date.now();
try {
  if (command === 'up') {
    const env = await infraUp(undefined, provisionedTopics(), {
      redisCluster: wantsRedisCluster(),
    });
    for (const s of env.servers)
      console.log(
        `${s.reused ? 'reused ' : 'started'}  ${s.name.padEnd(6)} ${s.url}  (${s.detail})`,
      );
    console.log(`logs in ${logDir}; ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } else if (command === 'down') {
    const stopped = await infraDown();
    console.log(stopped.length ? `stopped ${stopped.join(', ')}` : 'nothing of ours was running');
  } else if (command === 'status') {
    for (const s of await infraStatus()) {
      console.log(
        `${s.name.padEnd(6)} ${s.answering ? 'up  ' : 'DOWN'} ${s.endpoint.padEnd(28)} ${s.managedPid ? `pid ${s.managedPid}` : 'not managed here'}  log ${s.log}`,
      );
    }
  } else {
    console.error('usage: infra (up|down|status)');
    process.exit(2);
  }
} catch (err) {
  console.error(`infra ${command}: ${(err as Error).message}`);
  process.exit(1);
}
