// The smart-meter Pulumi program. The tiers and platforms are composed here (see components/);
// this file is filled in by the Pulumi issues that build them.
import * as pulumi from '@pulumi/pulumi';

const config = new pulumi.Config('smartmeter');
export const platform = config.require('platform');
