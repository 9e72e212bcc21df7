import { handleSignals } from '@suite/server-kit';
import { readUsersConfigOrExit } from './config.js';
import { createUsersService } from './service.js';

const config = readUsersConfigOrExit();
const service = await createUsersService(config);
await service.start();
await service.listen();
handleSignals(service, service.logger, config.SHUTDOWN_GRACE_MS);
