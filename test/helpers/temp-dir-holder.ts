// A process that owns a pipeline temp dir: `node test/helpers/temp-dir-holder.ts PARENT` creates one
// (with its lock), prints its path, and holds it until killed.
import { OwnedTempDir } from '../../src/flow/temp-dir.ts';
import { silentLogger } from '../../src/telemetry/log.ts';

const dir = await OwnedTempDir.create(process.argv[2]!, silentLogger);
console.log(dir.path);
setInterval(() => {}, 60_000);
