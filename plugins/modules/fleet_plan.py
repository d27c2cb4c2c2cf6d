# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: fleet_plan
short_description: The fleet plan of the certfleet.acme.certificate role (controller side)
version_added: 0.2.0
author: certfleet maintainers (@certfleet)
description:
  - Runs one planning step of the role P(certfleet.acme.certificate#role) on the controller; it never
    connects to a host and never changes anything. The role calls it; a playbook of your own can
    call it too, for example to see the plan of an inventory in check mode.
  - O(step=node) normalises one node's settings (the role's per-node variables).
  - O(step=plan) expands the certificates over groups, play hosts and the nodes' settings (read from
    C(hostvars), registered by O(step=node) as C(__certfleet_node)) into one validated plan, and
    fails listing every input problem at once.
  - The other steps derive what the role does next from the plan and from module results, keyed by
    certificate, node and endpoint; O(step=gate) fails every node whose store-host step failed or
    was unreachable.
  - O(step=dns_options) reads, from the controller's environment, the variables that O(provider)
    declares for its options (for example C(PDNS_API_KEY) of V(powerdns)), where AWX credentials
    and execution environments put them, and returns them with O(provider_options) over them, for
    O(certfleet.acme.dns_challenge#module:provider_options) on a store host that does not have them.
    Its result holds secrets - register it with C(no_log).
  - The logic is in C(plugins/plugin_utils/fleet.py) and C(plugins/plugin_utils/dns_env.py) and has
    unit tests.
extends_documentation_fragment:
  - certfleet.acme.attributes
attributes:
  check_mode:
    support: full
    details: The plugin only computes.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  step:
    description: The planning step.
    type: str
    required: true
    choices: [node, plan, gate, issued, install, http_server, verify, verdict, rollback_report, summary, report, dns_options]
  settings:
    description: With O(step=node), the node's settings (the role passes its per-node variables).
    type: dict
  inputs:
    description:
      - With O(step=plan), the role's input - C(certificates), C(challenge), C(key_type),
        C(renew_before_days), C(profile), C(challenge_hosts), C(dns_provider), C(directory_url),
        C(http01_mode) (V(files) or V(stateless)), C(nginx_http_redirect) and C(entry) (V(main) or V(report)).
      - Challenge hosts outside the play (a sliced run) are read from the inventory
        (C(certfleet_node_address) or C(ansible_host), C(certfleet_node_http_port), C(certfleet_webroot)).
    type: dict
  node_var:
    description: With O(step=plan), the host variable that holds each node's O(step=node) result.
    type: str
    default: __certfleet_node
  run_id:
    description: With O(step=plan), the run identifier to put in the plan (default a random one).
    type: str
  plan:
    description: The plan from O(step=plan) (its RV(plan)), for the later steps.
    type: dict
  results:
    description:
      - With O(step=gate), the registered results of store-host steps, by a name for the message
        (a dict), or a list of C(name)/C(result) dicts when a name holds variables.
      - With O(step=rollback_report), the rollback results by module (C(cert_install), C(haproxy), C(traefik)).
    type: raw
  preflight:
    description: With O(step=gate), the M(certfleet.acme.challenge_check) result whose misses stop the run.
    type: dict
  report_on:
    description: With O(step=gate), the host that shows the whole preflight table (the others refer to it).
    type: str
  suffix:
    description: With O(step=gate), the sentence after the cause (default V(No node was changed.)).
    type: str
  planned:
    description: The M(certfleet.acme.order) result of the plan (state pending in check mode).
    type: dict
  issue:
    description: With O(step=issued), the M(certfleet.acme.order) result of state valid.
    type: dict
  issued:
    description: The RV(certificates) of O(step=issued).
    type: dict
  bundles:
    description: With O(step=install), the M(certfleet.acme.cert_bundle) result (holds private keys).
    type: dict
  checks:
    description: The RV(checks) of O(step=verify) or of the first O(step=report).
    type: list
    elements: dict
  served:
    description: The M(certfleet.acme.cert_info) result of the endpoints.
    type: dict
  installed:
    description: With O(step=verdict), this node's results of cert_install, haproxy_cert and traefik_cert.
    type: dict
  thumbprint:
    description: With O(step=http_server), the account's thumbprint (RV(certfleet.acme.account#module:thumbprint)), if known.
    type: str
  failed:
    description: With O(step=verdict), a later install step of this node failed (roll back what succeeded).
    type: bool
    default: false
  provider:
    description: With O(step=dns_options), the DNS provider (the role's C(certfleet_dns_provider)); none for http-01.
    type: str
  provider_options:
    description: With O(step=dns_options), the explicit provider options; they win over the environment.
    type: dict
notes:
  - This is an action plugin; C(delegate_to) and the connection are ignored.
"""

EXAMPLES = r"""
- name: Each node reports its settings
  certfleet.acme.fleet_plan:
    step: node
    settings:
      target: nginx
      address: "{{ ansible_host | default(inventory_hostname) }}"
      http_port: 80
      verify_port: 443
      webroot: /var/www/html
      dest_dir: /etc/certfleet/certs
      nginx_conf_file: certfleet.conf
      haproxy_cert_dir: /etc/haproxy/certs
      traefik_cert_dir: /etc/traefik/certs
      traefik_dynamic_file: /etc/traefik/dynamic/certfleet.yaml
  register: __certfleet_node

- name: The plan for the play, every input problem at once
  certfleet.acme.fleet_plan:
    step: plan
    inputs:
      directory_url: https://acme-staging-v02.api.letsencrypt.org/directory
      certificates:
        - name: www.example.com
          identifiers: [www.example.com, example.com]
  run_once: true
  register: __plan

- name: Show which node serves which certificate
  ansible.builtin.debug:
    msg: "{{ __plan.plan.nodes | dict2items | map(attribute='value.certificates') | list }}"
  run_once: true
"""

RETURN = r"""
node:
  description: With O(step=node), the normalised settings.
  returned: O(step=node)
  type: dict
problems:
  description: Input problems (O(step=node); with O(step=plan) the task fails and lists them all).
  returned: O(step=node), or O(step=plan) when it fails
  type: list
  elements: str
plan:
  description:
    - With O(step=plan), the plan - C(run_id), C(certificates) (every default applied, C(install_hosts)
      expanded), C(order_certificates), C(challenge_hosts), C(challenge_nodes), C(challenge_outside)
      (challenge hosts outside the play, with their C(webroot)), C(http01_mode), C(stateless),
      C(http_servers) (per host its port-80 configuration), C(outside) (messages
      about hosts outside the play) and C(nodes) (per host its C(settings) and C(certificates), each
      with its C(target) and C(dest)).
  returned: O(step=plan)
  type: dict
certificates:
  description: With O(step=issued), the store's state after the orders, by certificate name.
  returned: O(step=issued)
  type: dict
bundle_names:
  description: With O(step=issued), the certificates the store holds a bundle for.
  returned: O(step=issued)
  type: list
  elements: str
items:
  description:
    - With O(step=install), the arguments of cert_install, haproxy_cert and traefik_cert for this node (holds keys).
    - With O(step=http_server), the arguments of this node's port-80 configuration, C(nginx) (the
      O(certfleet.acme.cert_install#module:nginx) option) or C(haproxy) (M(certfleet.acme.haproxy_http01)).
  returned: O(step=install), O(step=http_server)
  type: dict
probe:
  description: With O(step=http_server) in stateless mode, M(certfleet.acme.challenge_check) entries
    that test every challenge host's answer for the thumbprint (any token works), before any order.
  returned: O(step=http_server)
  type: list
  elements: dict
checks:
  description:
    - With O(step=verify) and the first O(step=report), every (node, certificate, name) to check.
    - With O(step=http_server), this node's checks of its redirect (C(url), C(name), C(status), C(location)).
  returned: O(step=verify), O(step=report), O(step=http_server)
  type: list
  elements: dict
endpoints:
  description: The endpoints to probe, each once, with the serial expected.
  returned: O(step=verify), O(step=report)
  type: list
  elements: dict
verdict:
  description: With O(step=verdict), this node's C(misses), C(ok), C(rollback) and C(commit) sets.
  returned: O(step=verdict)
  type: dict
report:
  description: With O(step=rollback_report), one sentence on what a rollback did.
  returned: O(step=rollback_report)
  type: str
summary:
  description:
    - With O(step=summary), one row per certificate (action, reason, serial, expiry, nodes serving, failed).
    - Its C(ari) is the order's M(certfleet.acme.order) RV(certfleet.acme.order#module:certificates[].ari)
      (the CA's renewal window and the time chosen in it), null without ARI; the line of an up-to-date
      certificate with ARI shows its reason (the window and the renewal time).
  returned: O(step=summary)
  type: list
  elements: dict
lines:
  description: With O(step=summary), one line per certificate.
  returned: O(step=summary)
  type: list
  elements: str
table:
  description: With O(step=summary) (per certificate and node) and O(step=report) (per node and name), a text table.
  returned: O(step=summary), O(step=report)
  type: list
  elements: str
rows:
  description:
    - With the second O(step=report), one row per node and name, with its C(flags).
    - Its C(ari) is the stored certificate's ARI answer (as in RV(summary)); a certificate the CA's
      window makes due is flagged C(renewal due) with the reason.
  returned: O(step=report)
  type: list
  elements: dict
flagged:
  description: With the second O(step=report), one line per row that needs attention.
  returned: O(step=report)
  type: list
  elements: str
options:
  description:
    - With O(step=dns_options), the provider options for M(certfleet.acme.dns_challenge) (holds
      credentials).
  returned: O(step=dns_options)
  type: dict
from_env:
  description: With O(step=dns_options), the names of the options taken from the environment (names only).
  returned: O(step=dns_options)
  type: list
  elements: str
"""
