// TLS for what the aws stack publishes: a certificate authority generated in the stack, and one server
// certificate per service it signs, valid for the names the service is reached by (its names on the
// overlay network, loopback for its own health check, every node's public IP and DNS name, since the
// routing mesh answers on each). The CA certificate is a stack output the user trusts (README); the keys
// are secret in the state and reach the containers as docker secrets (files).
import * as pulumi from '@pulumi/pulumi';
import * as tls from '@pulumi/tls';

import type { ServerCertificate } from '../../spec';

export interface ClusterTlsArgs {
  readonly publicIps: pulumi.Input<string>[];
  readonly publicDnsNames: pulumi.Input<string>[];
}

const CA_HOURS = 5 * 365 * 24;
const SERVER_HOURS = 365 * 24;
// An `up` within the last 30 days of a certificate's life (server, peer or client) issues a new one.
const SERVER_RENEWAL_HOURS = 30 * 24;
const KEY = { algorithm: 'ECDSA', ecdsaCurve: 'P256' } as const;

export class ClusterTls extends pulumi.ComponentResource {
  public readonly caCertificate: pulumi.Output<string>;
  private readonly caKeyPem: pulumi.Output<string>;
  private readonly publicIps: pulumi.Output<string[]>;
  private readonly publicDnsNames: pulumi.Output<string[]>;
  private readonly name: string;

  constructor(name: string, args: ClusterTlsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('smartmeter:aws:Tls', name, {}, opts);
    this.name = name;
    const caKey = new tls.PrivateKey(`${name}-ca`, KEY, { parent: this });
    const ca = new tls.SelfSignedCert(
      `${name}-ca`,
      {
        privateKeyPem: caKey.privateKeyPem,
        isCaCertificate: true,
        subject: { commonName: `smart-meter ${pulumi.getStack()} CA`, organization: 'smart-meter' },
        validityPeriodHours: CA_HOURS,
        allowedUses: ['cert_signing', 'crl_signing'],
      },
      { parent: this },
    );
    this.caKeyPem = caKey.privateKeyPem;
    this.caCertificate = ca.certPem;
    const present = (values: string[]) => values.filter((v) => v !== '');
    this.publicIps = pulumi.all(args.publicIps).apply(present);
    this.publicDnsNames = pulumi.all(args.publicDnsNames).apply(present);
    this.registerOutputs({ caCertificate: this.caCertificate });
  }

  /**
   * A key and a certificate for `service`, valid for `names` (its names in the network) and the nodes.
   * With `clientAuth` the certificate also authenticates its holder as a client: a NATS member dials the
   * other members' route ports with it, and they verify it (mutual TLS).
   */
  serverCertificate(
    service: string,
    names: readonly string[],
    options: { readonly clientAuth?: boolean } = {},
  ): ServerCertificate {
    return this.issue(service, service, {
      dnsNames: this.publicDnsNames.apply((dns) => [...new Set([...names, 'localhost', ...dns])]),
      ipAddresses: this.publicIps.apply((ips) => ['127.0.0.1', ...ips]),
      uses: ['server_auth', ...(options.clientAuth ? ['client_auth'] : [])],
    });
  }

  /**
   * A certificate for one member of a cluster (`resource`, e.g. `cassandra-1`) that both serves and
   * connects to its peers with mutual TLS: valid for `names` (its names in the overlay network) and
   * loopback only, never the public names (a member is not published), with server and client uses.
   */
  peerCertificate(resource: string, names: readonly string[]): ServerCertificate {
    return this.issue(resource, resource, {
      dnsNames: [...new Set([...names, 'localhost'])],
      ipAddresses: ['127.0.0.1'],
      uses: ['server_auth', 'client_auth'],
    });
  }

  /** A client certificate (client_auth only, no names) for `client`, e.g. the services' Cassandra sessions. */
  clientCertificate(client: string): ServerCertificate {
    return this.issue(`client-${client}`, client, { uses: ['client_auth'] });
  }

  private issue(
    resource: string,
    commonName: string,
    what: {
      dnsNames?: pulumi.Input<string[]>;
      ipAddresses?: pulumi.Input<string[]>;
      uses: string[];
    },
  ): ServerCertificate {
    const key = new tls.PrivateKey(`${this.name}-${resource}`, KEY, { parent: this });
    const request = new tls.CertRequest(
      `${this.name}-${resource}`,
      {
        privateKeyPem: key.privateKeyPem,
        subject: { commonName, organization: 'smart-meter' },
        dnsNames: what.dnsNames,
        ipAddresses: what.ipAddresses,
      },
      { parent: this },
    );
    const cert = new tls.LocallySignedCert(
      `${this.name}-${resource}`,
      {
        certRequestPem: request.certRequestPem,
        caPrivateKeyPem: this.caKeyPem,
        caCertPem: this.caCertificate,
        validityPeriodHours: SERVER_HOURS,
        earlyRenewalHours: SERVER_RENEWAL_HOURS,
        allowedUses: ['digital_signature', 'key_encipherment', ...what.uses],
      },
      { parent: this },
    );
    return { certificate: cert.certPem, privateKey: pulumi.secret(key.privateKeyPemPkcs8) };
  }
}
