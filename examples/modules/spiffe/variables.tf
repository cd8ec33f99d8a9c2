variable "issuer" {
  description = "The trust domain's JWT issuer: the SPIRE server's `jwt_issuer` setting, exactly as in the JWT-SVIDs' `iss`, served by the SPIRE OIDC Discovery Provider (e.g. `https://oidc.spire.example.org`)."
  type        = string
}

variable "jwks_json" {
  description = "The trust domain's JWT signing keys as a JWKS (the discovery provider's `/keys`), for issuers OpenAI cannot reach. Null makes OpenAI discover the keys from the issuer, which must then be publicly reachable."
  type        = string
  default     = null
}

variable "spiffe_id" {
  description = "The workload's SPIFFE ID, `spiffe://TRUST_DOMAIN/PATH` (tokens carry it as `sub`). A trailing `*` admits every ID under a path (a prefix match), e.g. `spiffe://example.org/ci/*`."
  type        = string

  validation {
    condition     = can(regex("^spiffe://[a-z0-9._-]+/([^*\\s]*[^*\\s/]|[^*\\s]*\\*)$", var.spiffe_id))
    error_message = "The spiffe_id must be a SPIFFE ID with a path, spiffe://TRUST_DOMAIN/PATH (e.g. spiffe://example.org/ci), with at most one trailing *."
  }
}

variable "audience" {
  description = "The audience the workload requests its JWT-SVID for (the provider's `audience` argument of the ephemeral token, or `spire-agent api fetch jwt -audience`)."
  type        = string
  default     = "https://api.openai.com/v1"
}

variable "project_id" {
  description = "The OpenAI project of the service account (`proj_...`)."
  type        = string
}

variable "service_account_id" {
  description = "The OpenAI project service account the workload acts as (`svc_acct_...`)."
  type        = string
}

variable "scopes" {
  description = "Restricts the exchanged tokens to these scopes. Null keeps the service account's own permissions."
  type        = set(string)
  default     = null
}

variable "workload_identity_provider_id" {
  description = "An existing workload identity provider (`wip_...`) for this trust domain's issuer to add the mapping to. Null creates one."
  type        = string
  default     = null
}

variable "provider_name" {
  description = "Name of the workload identity provider this module creates (unique in the organization)."
  type        = string
  default     = "spiffe"
}

variable "mapping_name" {
  description = "Optional name of the mapping (unique within the provider)."
  type        = string
  default     = null
}
