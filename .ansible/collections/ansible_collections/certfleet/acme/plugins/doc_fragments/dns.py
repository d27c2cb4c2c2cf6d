# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """The dns-01 options of the dns_challenge module, kept in step with _dns/spec.py DNS_OPTIONS.

    GENERATED from the provider registry: do not edit, run
    python tests/unit/plugins/module_utils/_dns/test_dns_spec.py --write
    """

    DOCUMENTATION = r"""
options:
  provider:
    description:
      - The DNS provider that deploys and removes the C(dns-01) TXT records.
      - 'Providers: V(alidns) (Alibaba Cloud DNS (Alidns RPC API, signature V2)), V(cloudflare) (Cloudflare
        API v4 (API token)), V(dnspod) (DNSPod via Tencent Cloud API 3.0 (TC3-HMAC-SHA256)), V(powerdns)
        (PowerDNS Authoritative Server HTTP API), V(rfc2136) (RFC 2136 dynamic DNS update with a TSIG
        key (BIND, Knot, PowerDNS, ...)), V(route53) (Amazon Route 53 (AWS Signature Version 4)). C(docs/dns-providers.md)
        in the collection tells how to add one (one file).'
    type: str
    required: true
    choices:
      - alidns
      - cloudflare
      - dnspod
      - powerdns
      - rfc2136
      - route53
  provider_options:
    description:
      - Settings and credentials of the O(provider). Options of other providers are refused.
      - A secret may also come from the environment variable named in its description (what AWX credential
        types inject). Secrets are never shown in results, diffs or error messages.
    type: dict
    suboptions:
      access_key_id:
        description:
          - Used by alidns, route53.
          - 'alidns: AccessKey id. Environment: C(ALICLOUD_ACCESS_KEY), C(ALIBABA_CLOUD_ACCESS_KEY_ID).
            Required.'
          - 'route53: Access key id. Environment: C(AWS_ACCESS_KEY_ID), C(AWS_ACCESS_KEY). Required.'
        type: str
      access_key_secret:
        description:
          - Used by alidns.
          - 'alidns: AccessKey secret. Environment: C(ALICLOUD_SECRET_KEY), C(ALIBABA_CLOUD_ACCESS_KEY_SECRET).
            Required. Secret: never shown (no_log).'
        type: str
      api_key:
        description:
          - Used by powerdns.
          - 'powerdns: The API key (C(X-API-Key)). Environment: C(PDNS_API_KEY). Required. Secret: never
            shown (no_log).'
        type: str
      api_token:
        description:
          - Used by cloudflare.
          - 'cloudflare: API token with the permission Zone / DNS / Edit for the zones. Environment: C(CLOUDFLARE_API_TOKEN),
            C(CF_DNS_API_TOKEN). Required. Secret: never shown (no_log).'
        type: str
      api_url:
        description:
          - Used by powerdns.
          - 'powerdns: Base URL of the API, for example V(http://192.0.2.53:8081) (without V(/api/v1)).
            Environment: C(PDNS_API_URL). Required.'
        type: str
      endpoint:
        description:
          - Used by alidns, cloudflare, dnspod, route53.
          - 'alidns: API endpoint. Default: V(https://alidns.aliyuncs.com).'
          - 'cloudflare: API base URL. Default: V(https://api.cloudflare.com/client/v4).'
          - 'dnspod: API endpoint. Default: V(https://dnspod.tencentcloudapi.com).'
          - 'route53: API endpoint. Default: V(https://route53.amazonaws.com).'
        type: str
      hosted_zone_id:
        description:
          - Used by route53.
          - 'route53: Hosted zone id; skips the look-up of the zone by name. Environment: C(AWS_HOSTED_ZONE_ID).'
        type: str
      port:
        description:
          - Used by rfc2136.
          - 'rfc2136: Port of O(provider_options.server). Default: V(53).'
        type: int
      region:
        description:
          - Used by route53.
          - 'route53: Signing region (V(us-east-1) for the global endpoint). Default: V(us-east-1).'
        type: str
      secret_access_key:
        description:
          - Used by route53.
          - 'route53: Secret access key. Environment: C(AWS_SECRET_ACCESS_KEY), C(AWS_SECRET_KEY). Required.
            Secret: never shown (no_log).'
        type: str
      secret_id:
        description:
          - Used by dnspod.
          - 'dnspod: SecretId of the API key. Environment: C(TENCENTCLOUD_SECRET_ID). Required. Secret:
            never shown (no_log).'
        type: str
      secret_key:
        description:
          - Used by dnspod.
          - 'dnspod: SecretKey of the API key. Environment: C(TENCENTCLOUD_SECRET_KEY). Required. Secret:
            never shown (no_log).'
        type: str
      security_token:
        description:
          - Used by alidns.
          - 'alidns: STS security token of temporary credentials. Environment: C(ALICLOUD_SECURITY_TOKEN),
            C(ALIBABA_CLOUD_SECURITY_TOKEN). Secret: never shown (no_log).'
        type: str
      server:
        description:
          - Used by rfc2136.
          - 'rfc2136: Address (or host name) of the primary server that accepts updates. Defaults to the
            address of the zone''s SOA MNAME. Environment: C(RFC2136_NAMESERVER).'
        type: str
      server_id:
        description:
          - Used by powerdns.
          - 'powerdns: The server id in the API. Environment: C(PDNS_SERVER_ID). Default: V(localhost).'
        type: str
      session_token:
        description:
          - Used by dnspod, route53.
          - 'dnspod: Token of temporary credentials (STS). Environment: C(TENCENTCLOUD_SESSION_TOKEN).
            Secret: never shown (no_log).'
          - 'route53: Session token of temporary credentials (STS). Environment: C(AWS_SESSION_TOKEN),
            C(AWS_SECURITY_TOKEN). Secret: never shown (no_log).'
        type: str
      timeout:
        description:
          - Used by rfc2136.
          - 'rfc2136: Timeout of one update or query, in seconds. Default: V(10).'
        type: int
      tsig_algorithm:
        description:
          - Used by rfc2136.
          - 'rfc2136: TSIG algorithm. Environment: C(RFC2136_TSIG_ALGORITHM). Default: V(hmac-sha256).'
        type: str
        choices:
          - hmac-md5
          - hmac-sha1
          - hmac-sha224
          - hmac-sha256
          - hmac-sha384
          - hmac-sha512
      tsig_key_name:
        description:
          - Used by rfc2136.
          - 'rfc2136: Name of the TSIG key. Environment: C(RFC2136_TSIG_KEY).'
        type: str
      tsig_secret:
        description:
          - Used by rfc2136.
          - 'rfc2136: Base64 secret of the TSIG key. Environment: C(RFC2136_TSIG_SECRET). Secret: never
            shown (no_log).'
        type: str
      validate_certs:
        description:
          - Used by powerdns.
          - 'powerdns: Verify the API''s TLS certificate (HTTPS URLs). Default: V(true).'
        type: bool
      zone_id:
        description:
          - Used by cloudflare.
          - 'cloudflare: Zone id; skips the look-up of the zone by name (a token limited to one zone may
            not list zones). Environment: C(CLOUDFLARE_ZONE_ID).'
        type: str
  dns_resolvers:
    description:
      - Addresses of the recursive resolvers used to follow CNAMEs, find the zone of each record (SOA)
        and the addresses of the zone's name servers. Defaults to the system's resolvers.
      - The TXT values themselves are checked at every authoritative server of the zone directly.
    type: list
    elements: str
  propagation_timeout:
    description:
      - With O(state=present), how long (seconds) to wait until every authoritative name server of each
        zone serves every value. Polling starts after 50 ms and backs off to 2 s.
    type: float
    default: 120.0
  record_ttl:
    description:
      - TTL of the TXT records written. Defaults to the provider's smallest usual TTL (60 s; 600 s for
        alidns and dnspod, whose free plans allow no less).
    type: int
  follow_cnames:
    description:
      - Follow a CNAME at C(_acme-challenge.<name>) and write the TXT record at its target (a validation
        zone delegated with a CNAME, acme-dns style).
    type: bool
    default: true
"""
