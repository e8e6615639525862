import { DOMParser } from "@xmldom/xmldom";
import { SamlRefusal } from "../domain/saml";
import { directChild, elements, ns, type XmlElement } from "./response-checks";

/**
 * Checks on the logout messages an identity provider sends (SAML Core §3.7), made on the inflated
 * XML before node-saml validates it: the document's shape, the issuer (the connection's entity id),
 * the Destination (this organization's logout URL, Bindings §3.4.5.2) and, for a LogoutResponse,
 * that it answers a request (InResponseTo). What a LogoutRequest asks to end is read here too:
 * the NameID and every SessionIndex.
 */

export interface LogoutExpectations {
  idpEntityId: string;
  /** This organization's logout URL: the only acceptable Destination. */
  logoutUrl: string;
}

export interface InspectedLogoutRequest {
  id: string;
  issueInstant: Date;
  nameId: string;
  /** Every SessionIndex named (Core §3.7.1); none means every session of the NameID. */
  sessionIndexes: string[];
}

export interface InspectedLogoutResponse {
  id: string;
  inResponseTo: string;
  statusCode: string;
}

const SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success";

function root(xml: string, localName: "LogoutRequest" | "LogoutResponse", expected: LogoutExpectations): XmlElement {
  const invalid = (detail: string) => new SamlRefusal("malformed", "The identity provider's sign-out message is not a valid SAML message.", detail);
  // No DTDs at all, as for sign-in responses (XXE, entity expansion).
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw invalid("document type declaration");
  const errors: string[] = [];
  const document = new DOMParser({ errorHandler: (level: string, message: unknown) => void (level !== "warning" && errors.push(String(message))) }).parseFromString(xml, "text/xml");
  const element = document?.documentElement as unknown as XmlElement | null;
  if (errors.length || !element) throw invalid(errors[0] ?? "not XML");
  if (element.localName !== localName || element.namespaceURI !== ns.protocol) throw invalid(`expected samlp:${localName}, found ${element.localName}`);
  if (!element.getAttribute("ID")) throw invalid(`${localName} without ID`);

  const issuer = directChild(element, ns.assertion, "Issuer")?.textContent?.trim();
  if (issuer !== expected.idpEntityId) {
    throw new SamlRefusal("wrong_issuer", "The sign-out message comes from an identity provider this organization does not use.", `issuer ${issuer ?? "(none)"}`);
  }
  const destination = element.getAttribute("Destination");
  if (destination && destination !== expected.logoutUrl) {
    throw new SamlRefusal("wrong_destination", "The sign-out message was addressed to another service.", `Destination ${destination}`);
  }
  return element;
}

export function inspectLogoutRequest(xml: string, expected: LogoutExpectations): InspectedLogoutRequest {
  const request = root(xml, "LogoutRequest", expected);
  const issueInstant = new Date(request.getAttribute("IssueInstant") ?? "");
  if (Number.isNaN(issueInstant.getTime())) throw new SamlRefusal("malformed", "The identity provider's sign-out message is not a valid SAML message.", "LogoutRequest without IssueInstant");
  if (directChild(request, ns.assertion, "EncryptedID")) {
    throw new SamlRefusal("encrypted_assertion", "The identity provider sent an encrypted name, which this connection does not accept.", "EncryptedID");
  }
  const nameId = directChild(request, ns.assertion, "NameID")?.textContent?.trim();
  if (!nameId) throw new SamlRefusal("malformed", "The identity provider's sign-out message does not say who signs out.", "LogoutRequest without NameID");
  const sessionIndexes = elements(request, ns.protocol, "SessionIndex")
    .filter((element) => element.parentNode === request)
    .map((element) => element.textContent?.trim() ?? "")
    .filter(Boolean);
  return { id: request.getAttribute("ID")!, issueInstant, nameId, sessionIndexes };
}

export function inspectLogoutResponse(xml: string, expected: LogoutExpectations): InspectedLogoutResponse {
  const response = root(xml, "LogoutResponse", expected);
  const inResponseTo = response.getAttribute("InResponseTo");
  if (!inResponseTo) throw new SamlRefusal("unknown_request", "This sign-out was not started here.", "LogoutResponse without InResponseTo");
  const status = directChild(response, ns.protocol, "Status");
  const statusCode = (status && directChild(status, ns.protocol, "StatusCode")?.getAttribute("Value")) || "";
  if (!statusCode) throw new SamlRefusal("malformed", "The identity provider's sign-out message is not a valid SAML message.", "LogoutResponse without StatusCode");
  return { id: response.getAttribute("ID")!, inResponseTo, statusCode };
}

export const isSuccess = (statusCode: string) => statusCode === SUCCESS;
