import { defaultSiteOptions, endpointTemplateProblem, type SiteOptions } from '../core/config.js';

const placeholder = '${extension}';
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * What centralita assumes about the Asterisk it drives, as configuration
 * (docs/install.md): how a desk phone's endpoint is named, and the dialplan
 * context a transfer to an extension continues in.
 */
export class AsteriskSite {
  readonly transferContext: string;
  private readonly prefix: string;
  private readonly suffix: string;
  private readonly device: RegExp;
  private readonly channel: RegExp;

  constructor(options: Pick<SiteOptions, 'phoneEndpoint' | 'transferContext'> = defaultSiteOptions) {
    const problem = endpointTemplateProblem(options.phoneEndpoint);
    if (problem) throw new Error(`phone endpoint template '${options.phoneEndpoint}': ${problem}`);
    [this.prefix, this.suffix] = options.phoneEndpoint.split(placeholder) as [string, string];
    this.transferContext = options.transferContext;
    // The device of a desk phone is its endpoint (PJSIP/agent-1001); a channel
    // adds a dash and a hexadecimal sequence (PJSIP/agent-1001-0000002a).
    this.device = new RegExp(`^${escape(this.prefix)}(.+?)${escape(this.suffix)}$`, 'i');
    this.channel = new RegExp(`^${escape(this.prefix)}(.+?)${escape(this.suffix)}-[0-9a-f]+$`, 'i');
  }

  /** The endpoint to dial for a desk phone's extension. */
  phone(extension: string): string {
    return `${this.prefix}${extension}${this.suffix}`;
  }

  /** The extension of a desk phone's device name (AMI device states), if it is one. */
  extensionOfDevice(device: string | undefined): string | undefined {
    return this.device.exec(device ?? '')?.[1];
  }

  /** The extension of the desk phone a channel comes from (by its name), if it comes from one. */
  extensionOfChannel(channel: { name: string }): string | undefined {
    return this.channel.exec(channel.name)?.[1];
  }
}

export const defaultSite = new AsteriskSite();
