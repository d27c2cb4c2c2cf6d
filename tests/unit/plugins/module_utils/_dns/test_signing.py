# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The request signatures against the examples their vendors publish."""

from __future__ import annotations

import hashlib

from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers import alidns, dnspod, route53

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def _signature(headers):
    return headers["Authorization"].split("Signature=")[1]


def test_sigv4_aws_documented_iam_listusers_example():
    # AWS General Reference, "Signed Signature Version 4 requests examples": POST to IAM,
    # Action=ListUsers&Version=2010-05-08, 20110909T233600Z, access key AKIDEXAMPLE.
    headers = route53.sigv4("POST", "https://iam.amazonaws.com/",
                            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                            b"Action=ListUsers&Version=2010-05-08", "AKIDEXAMPLE", AWS_SECRET,
                            "us-east-1", "iam", "20110909T233600Z")
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=ced6826de92d2bdeed8f846f0bf508e8559e98e4b0199114b84c54174deb456c")


def test_sigv4_test_suite_get_vanilla():
    # aws-sig-v4-test-suite get-vanilla and get-vanilla-query-order-key-case.
    headers = route53.sigv4("GET", "https://example.amazonaws.com/", {}, b"", "AKIDEXAMPLE", AWS_SECRET,
                            "us-east-1", "service", "20150830T123600Z")
    assert _signature(headers) == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    headers = route53.sigv4("GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", {}, b"",
                            "AKIDEXAMPLE", AWS_SECRET, "us-east-1", "service", "20150830T123600Z")
    assert _signature(headers) == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
    assert "SignedHeaders=host;x-amz-date," in headers["Authorization"]


def test_sigv4_session_token_is_signed():
    headers = route53.sigv4("GET", "https://route53.amazonaws.com/2013-04-01/hostedzone", {}, b"",
                            "AKIDEXAMPLE", AWS_SECRET, "us-east-1", "route53", "20150830T123600Z", "tok")
    assert headers["X-Amz-Security-Token"] == "tok"
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token," in headers["Authorization"]


def test_tc3_tencent_documented_cvm_describeinstances_example():
    # Tencent Cloud API 3.0 "Signature v3": POST https://cvm.tencentcloudapi.com/, timestamp
    # 1551113065, the published payload, SecretKey Gu5t9xGARNpq86cd98joQYCN3EXAMPLE. The document
    # publishes the payload hash, the hashed canonical request and the signature.
    payload = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    assert hashlib.sha256(payload).hexdigest() == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    authorization = dnspod.tc3_authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
                                             "cvm", "cvm.tencentcloudapi.com", payload, 1551113065)
    assert authorization == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")


def test_alibaba_documented_describeregions_example():
    # Alibaba Cloud "Request syntax and signature method V2 for RPC APIs", DescribeRegions with
    # AccessKey testid / testsecret. The English page spells the parameter Timestamp; an older
    # Chinese edition of the same example spells it TimeStamp. Both published signatures match.
    params = {"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML",
              "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
              "SignatureVersion": "1.0", "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26"}
    assert alidns.rpc_signature("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    params["TimeStamp"] = params.pop("Timestamp")
    assert alidns.rpc_signature("GET", params, "testsecret") == "CT9X0VtwR86fNWSnsc6v8YGOjuE="


def test_alibaba_percent_encoding_rules():
    assert alidns.percent_encode("a b*c~d/é") == "a%20b%2Ac~d%2F%C3%A9"
