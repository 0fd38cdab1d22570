// The client commands (topic, produce, consume, group, cluster, user, acl, quota), loaded by main.ts for every
// command line except `brook start`.

import type { Command } from 'commander';
import { aclCommand } from './acl.js';
import { clusterCommand } from './cluster.js';
import { consumeCommand } from './consume.js';
import { groupCommand } from './group.js';
import { produceCommand } from './produce.js';
import { quotaCommand } from './quota.js';
import { topicCommand } from './topic.js';
import { userCommand } from './user.js';

export { outcome, setCliVersion } from './common.js';

export function clientCommands(): Command[] {
  return [topicCommand(), produceCommand(), consumeCommand(), groupCommand(), clusterCommand(), userCommand(), aclCommand(), quotaCommand()];
}
