--- The CX Cloud API v2 operations, one entry each.
--
-- This table is the single description of the API that the rest of the Lua layer
-- derives from: the client's and the customer view's methods, parameter checks,
-- suggestions for `fields`, natural keys; the operation table of doc/library.md is checked
-- against it (spec/unit/docs_spec.lua). Adding an operation is adding one entry.
--
-- Entry fields:
--
--    name          method name on the client (`cx:hardware{...}`)
--    path          path under `base_url`
--    operation_id  the API's operationId (`confirmed = false`: a proposed name, the
--                  v2 page with the real one was unreadable)
--    title, summary one line each, from the API reference
--    params        the API's own query parameters (besides page, rows, sort, fields):
--                  `{ name, type [, required = bool] [, enum = {...}] }` with type
--                  "string" (a string; an integer is accepted and sent as digits) or
--                  "id" (an integer ID: an integer or a string of digits, any length).
--                  `customerId` is listed with `required`; the four bulletin operations
--                  take it optionally (whether v2 requires it there is unknown).
--                  `enum` lists the values documented for v1; they are NOT enforced,
--                  because the v2 values are unverified.
--    fields        item field names known from the v1/v2 references (used for
--                  suggestions only: unknown names in `fields` are still sent)
--    key           the item fields that tell one row from another within one customer's
--                  result (the natural key): a page that repeats the one before is
--                  recognised by them
--    ids           item fields that are identifiers besides the "id" params and
--                  `customerId` (numbers, codes: IDs the API may send as JSON numbers)
--
-- Derived: `identifiers`, the sorted list of an operation's identifier fields (its "id"
-- params, `customerId` when it is a param, and `ids`); `operations.identifiers`, the
-- union over all operations, which the decoder turns into strings of the exact digits
-- or text the API sent, whether as a JSON number or a string.
--
-- All operations are GET, paginated with `page`/`rows`, and answer
-- `{"data": [...], "pagination": {"page", "pages", "rows", "total"}}`. `BASE_URL` is where
-- their paths start and `TOKEN_URL` the OAuth2 token endpoint (the client's defaults; the
-- sandbox serves both).
-- @module cxcloud.operations

local operations = {
  {
    name = "customers", path = "/customer-info/customer-details",
    operation_id = "getCustomerDetails", title = "List Customer Accounts", confirmed = true,
    summary = "Returns CX Cloud accounts the user has permission to query.",
    key = { "customerId" },
    params = {
      { "customerId", "string", required = false },
      { "customerName", "string" },
    },
    ids = { "customerId" },
    fields = {
      "customerId", "customerName", "streetAddress1", "streetAddress2", "streetAddress3",
      "streetAddress4", "city", "state", "country", "zipCode", "theaterCode",
    },
  },
  {
    name = "hardware", path = "/inventory/hardware",
    operation_id = "getHardware", title = "List Hardware", confirmed = false,
    summary = "Hardware assets (chassis, modules, fans, PSUs...) in a CX Cloud account.",
    key = { "hwInstanceId" },
    params = {
      { "customerId", "string", required = true },
      { "managedNeInstanceId", "id" },
      { "neInstanceId", "id" },
      { "hwInstanceId", "id" },
      { "hwType", "string", enum = { "Chassis", "Module", "Fan", "Power Supply", "Other" } },
      { "productSubtype", "string" },
      { "productType", "string" },
      { "productFamily", "string" },
      { "productId", "string" },
      { "serialNumber", "string" },
      { "dimensionsFormat", "string" },
      { "dimensions", "string" },
      { "weight", "string" },
      { "formFactor", "string" },
      { "supportPage", "string" },
      { "visioStencilUrl", "string" },
      { "smallImageUrl", "string" },
      { "largeImageUrl", "string" },
      { "baseProductId", "string" },
      { "productReleaseDate", "string" },
    },
    fields = {
      "neInstanceId", "managedNeInstanceId", "inventoryName", "hwInstanceId", "hwName", "hwType",
      "productSubtype", "slot", "productFamily", "productId", "productType", "swVersion",
      "serialNumber", "serialNumberStatus", "hwRevision", "tan", "tanRevision", "pcbNumber",
      "installedMemory", "installedFlash", "collectedSerialNumber", "collectedProductId",
      "productName", "dimensionsFormat", "dimensions", "weight", "formFactor", "supportPage",
      "visioStencilUrl", "smallImageUrl", "largeImageUrl", "baseProductId", "productReleaseDate",
      "productDescription",
    },
  },
  {
    name = "network_elements", path = "/inventory/network-elements",
    operation_id = "getNetworkElements", title = "List Network Elements", confirmed = false,
    summary = "Network elements (logical managed devices) in a CX Cloud account.",
    key = { "neInstanceId" },
    params = {
      { "customerId", "string", required = true },
      { "neInstanceId", "id" },
      { "managedNeInstanceId", "id" },
      { "productFamily", "string" },
      { "isManagedNe", "string" },
      { "ipAddress", "string" },
      { "hostname", "string" },
      { "swVersion", "string" },
      { "swType", "string" },
    },
    ids = { "collectorId" },
    fields = {
      "neInstanceId", "managedNeInstanceId", "inventoryName", "managementAddress", "neSubtype",
      "inventoryAvailability", "lastConfigRegister", "ipAddress", "hostname", "sysName",
      "featureSet", "inventoryCollectionDate", "productFamily", "productId", "productType",
      "createDate", "swType", "swVersion", "reachabilityStatus", "neType", "lastReset",
      "resetReason", "sysContact", "sysDescr", "sysLocation", "sysObjectId", "configRegister",
      "configAvailability", "configCollectionDate", "imageName", "bootstrapVersion", "isManagedNe",
      "userField1", "userField2", "userField3", "userField4", "macAddress", "collectorId",
    },
  },
  {
    name = "contracts", path = "/contracts/contract-details",
    operation_id = "getContractDetails", title = "List Contracts", confirmed = true,
    summary = "Returns the Cisco service contracts connected to a CX Cloud account.",
    key = { "contractNumber" },
    params = {
      { "customerId", "string", required = true },
      { "contractNumber", "string" },
      { "contractStatus", "string" },
      { "contractStartDate", "string" },
      { "contractEndDate", "string" },
      { "serviceLevel", "string" },
    },
    ids = { "contractNumber", "billtoSiteId", "siteUseId" },
    fields = {
      "contractNumber", "contractStatus", "contractStartDate", "contractEndDate", "serviceProgram",
      "serviceLevel", "billtoSiteId", "billtoSiteName", "billtoAddressLine1", "billtoAddressLine2",
      "billtoAddressLine3", "billtoAddressLine4", "billtoCity", "billtoState", "billtoPostalCode",
      "billtoProvince", "billtoCountry", "billtoGuName", "siteUseName", "siteUseId", "siteAddress1",
      "siteCity", "siteStateProvince", "sitePostalCode", "siteCountry", "baseProductId",
    },
  },
  {
    name = "coverage", path = "/contracts/coverage",
    operation_id = "getCoverage", title = "List Covered Assets", confirmed = true,
    summary = "Returns assets in a CX Cloud account that are covered by a Cisco service contract.",
    key = { "serialNumber", "contractNumber" },
    params = {
      { "customerId", "string", required = true },
      { "contractNumber", "string" },
      { "serialNumber", "string" },
      { "productId", "string" },
      { "coverageStatus", "string" },
      { "coverageStartDate", "string" },
      { "coverageEndDate", "string" },
      { "contractStatus", "string" },
      { "serviceLevel", "string" },
      { "serviceLineStatus", "string" },
      { "billtoPartyId", "string" },
    },
    ids = {
      "contractNumber", "contractInstanceNumber", "parentContractInstanceId", "contractInstanceId",
      "serviceLineId", "shiptoSiteId", "installedatSiteId", "billtoSiteId", "billtoPartyId",
      "installAtGuPartyId", "neInstanceId",
    },
    fields = {
      "serialNumber", "productId", "productFamily", "coverageStatus", "contractInstanceNumber",
      "parentContractInstanceId", "orderShipDate", "serviceable", "coverageStartDate",
      "coverageEndDate", "warrantyStartDate", "warrantyEndDate", "warrantyType", "contractNumber",
      "serviceLevel", "slaType", "serviceProgram", "contractStartDate", "contractEndDate",
      "contractStatus", "shiptoSiteId", "shiptoSiteName", "shiptoAddressLine1",
      "shiptoAddressLine2", "shiptoAddressLine3", "shiptoAddressLine4", "shiptoCity", "shiptoState",
      "shiptoPostalCode", "shiptoProvince", "shiptoCountry", "installedatSiteId",
      "installedatSiteName", "installedatAddressLine1", "installedatAddressLine2",
      "installedatAddressLine3", "installedatAddressLine4", "installedatCity", "installedatState",
      "installedatPostalCode", "installedatProvince", "installedatCountry", "billtoSiteId",
      "billtoSiteName", "billtoAddressLine1", "billtoAddressLine2", "billtoAddressLine3",
      "billtoAddressLine4", "billtoCity", "billtoState", "billtoPostalCode", "billtoProvince",
      "billtoCountry", "neInstanceId", "billtoPartyId", "installAtGuPartyId", "contractInstanceId",
      "serviceLineId", "serviceLineStatus", "lineCustomerName", "businessProcessName",
      "entitledParty", "installGUName",
    },
  },
  {
    name = "not_covered", path = "/contracts/not-covered",
    operation_id = "getNotCovered", title = "List Uncovered Assets", confirmed = false,
    summary = "Assets in a CX Cloud account not covered by any Cisco service contract.",
    key = { "serialNumber", "productId" },
    params = {
      { "customerId", "string", required = true },
      { "serialNumber", "string" },
      { "productId", "string" },
    },
    ids = { "contractInstanceNumber", "installedatSiteId", "billtoPartyId", "neInstanceId" },
    fields = {
      "contractInstanceNumber", "serialNumber", "productId", "hwType", "orderShipDate",
      "installedatSiteId", "installedatSiteName", "installedatAddressLine1",
      "installedatAddressLine2", "installedatAddressLine3", "installedatAddressLine4",
      "installedatCity", "installedatState", "installedatPostalCode", "installedatProvince",
      "installedatCountry", "warrantyType", "warrantyStartDate", "warrantyEndDate", "neInstanceId",
      "billtoPartyId",
    },
  },
  {
    name = "field_notices", path = "/product-alerts/field-notices",
    operation_id = "getFieldNotices", title = "List Field Notices", confirmed = false,
    summary = "Field notices affecting assets in a CX Cloud account (one row per asset x notice).",
    key = { "neInstanceId", "hwInstanceId", "bulletinNumber" },
    params = {
      { "customerId", "string", required = true },
      { "neInstanceId", "id" },
      { "managedNeInstanceId", "id" },
      { "hwInstanceId", "id" },
      { "vulnerabilityStatus", "string" },
      { "bulletinNumber", "id" },
      { "swType", "string" },
      { "hostname", "string" },
    },
    fields = {
      "neInstanceId", "managedNeInstanceId", "vulnerabilityStatus", "vulnerabilityReason",
      "hwInstanceId", "bulletinNumber",
    },
  },
  {
    name = "field_notice_bulletins", path = "/product-alerts/field-notice-bulletins",
    operation_id = "getFieldNoticeBulletins", title = "List Field Notice Bulletins", confirmed = false,
    summary = "Published field notice bulletin details (Cisco.com FN documents) referenced by field-notices.",
    key = { "bulletinNumber" },
    params = {
      { "customerId", "string", required = false },
      { "bulletinNumber", "id" },
      { "bulletinFirstPublished", "string" },
    },
    fields = {
      "bulletinFirstPublished", "bulletinNumber", "fieldNoticeType", "bulletinTitle",
      "bulletinLastUpdated", "alertAutomationCaveat", "url", "bulletinSummary",
    },
  },
  {
    name = "hardware_eol", path = "/product-alerts/hardware-eol",
    operation_id = "getHardwareEOL", title = "List Hardware EOL", confirmed = true,
    summary = "Returns the Hardware End of Life details of hardware assets in a CX Cloud account.",
    key = { "hwInstanceId", "hwEolInstanceId" },
    params = {
      { "customerId", "string", required = true },
      { "neInstanceId", "id" },
      { "managedNeInstanceId", "id" },
      { "hwInstanceId", "id" },
      { "hostname", "string" },
      { "hwType", "string" },
      { "currentHwEolMilestone", "string" },
      { "nextHwEolMilestone", "string" },
    },
    ids = { "hwEolInstanceId" },
    fields = {
      "neInstanceId", "managedNeInstanceId", "hwType", "currentHwEolMilestone",
      "nextHwEolMilestone", "hwInstanceId", "productId", "currentHwEolMilestoneDate",
      "nextHwEolMilestoneDate", "hwEolInstanceId",
    },
  },
  {
    name = "hardware_eol_bulletins", path = "/product-alerts/hardware-eol-bulletins",
    operation_id = "getHardwareEOLBulletins", title = "List Hardware EOL Bulletins", confirmed = false,
    summary = "Hardware End-of-Life bulletin (EoL announcement) details referenced by hardware-eol.",
    key = { "hwEolInstanceId", "bulletinProductId" },
    params = {
      { "customerId", "string", required = false },
      { "hwEolInstanceId", "id" },
      { "bulletinProductId", "string" },
      { "bulletinNumber", "string" },
      { "bulletinTitle", "string" },
      { "eoLifeAnnouncementDate", "string" },
      { "eoSaleDate", "string" },
      { "lastShipDate", "string" },
      { "eoSwMaintenanceReleasesDate", "string" },
      { "eoRoutineFailureAnalysisDate", "string" },
      { "eoNewServiceAttachmentDate", "string" },
      { "eoServiceContractRenewalDate", "string" },
      { "lastDateOfSupport", "string" },
      { "eoVulnerabilitySecuritySupport", "string" },
    },
    ids = { "bulletinNumber" },
    fields = {
      "hwEolInstanceId", "bulletinProductId", "bulletinNumber", "bulletinTitle",
      "eoLifeAnnouncementDate", "eoSaleDate", "lastShipDate", "eoSwMaintenanceReleasesDate",
      "eoRoutineFailureAnalysisDate", "eoNewServiceAttachmentDate", "eoServiceContractRenewalDate",
      "lastDateOfSupport", "eoVulnerabilitySecuritySupport", "url",
    },
  },
  {
    name = "software_eol", path = "/product-alerts/software-eol",
    operation_id = "getSoftwareEOL", title = "List Software EOL", confirmed = true,
    summary = "Returns the Software End of Life details of the software running on the assets "
      .. "in a CX Cloud account.",
    key = { "neInstanceId", "swEolInstanceId" },
    params = {
      { "customerId", "string", required = true },
      { "neInstanceId", "id" },
      { "managedNeInstanceId", "id" },
      { "hostname", "string" },
      { "swType", "string" },
      { "currentSwEolMilestone", "string" },
      { "nextSwEolMilestone", "string" },
      { "swVersion", "string" },
    },
    ids = { "swEolInstanceId" },
    fields = {
      "neInstanceId", "managedNeInstanceId", "swType", "currentSwEolMilestone",
      "nextSwEolMilestone", "swVersion", "currentSwEolMilestoneDate", "nextSwEolMilestoneDate",
      "swEolInstanceId",
    },
  },
  {
    name = "software_eol_bulletins", path = "/product-alerts/software-eol-bulletins",
    operation_id = "getSoftwareEOLBulletins", title = "List Software EOL Bulletins", confirmed = false,
    summary = "Software End-of-Life bulletin details referenced by software-eol.",
    key = { "swEolInstanceId" },
    params = {
      { "customerId", "string", required = false },
      { "swEolInstanceId", "id" },
      { "swMajorVersion", "string" },
      { "swTrain", "string" },
      { "swType", "string" },
      { "bulletinNumber", "string" },
      { "bulletinTitle", "string" },
      { "eoLifeAnnouncementDate", "string" },
      { "eoSaleDate", "string" },
      { "eoSwMaintenanceReleasesDate", "string" },
      { "eoVulnerabilitySecuritySupport", "string" },
      { "lastDateOfSupport", "string" },
    },
    ids = { "bulletinNumber" },
    fields = {
      "swEolInstanceId", "bulletinNumber", "bulletinTitle", "swMajorVersion",
      "swMaintenanceVersion", "swTrain", "swType", "eoLifeAnnouncementDate", "eoSaleDate",
      "eoSwMaintenanceReleasesDate", "eoVulnerabilitySecuritySupport", "lastDateOfSupport", "url",
    },
  },
  {
    name = "security_advisories", path = "/product-alerts/security-advisories",
    operation_id = "getSecurityAdvisories", title = "List Security Advisories", confirmed = false,
    summary = "PSIRT security advisories affecting assets in a CX Cloud account (one row per "
      .. "asset x advisory).",
    key = { "neInstanceId", "hwInstanceId", "securityAdvisoryInstanceId" },
    params = {
      { "customerId", "string", required = true },
      { "hostname", "string" },
      { "swType", "string" },
      { "neInstanceId", "id" },
      { "hwInstanceId", "id" },
      { "managedNeInstanceId", "id" },
      { "vulnerabilityStatus", "string", enum = { "POTVUL", "VUL" } },
      { "securityAdvisoryInstanceId", "id" },
    },
    fields = {
      "neInstanceId", "managedNeInstanceId", "hwInstanceId", "vulnerabilityStatus",
      "vulnerabilityReason", "securityAdvisoryInstanceId",
    },
  },
  {
    name = "security_advisory_bulletins", path = "/product-alerts/security-advisory-bulletins",
    operation_id = "getSecurityAdvisoryBulletins",
    title = "List Security Advisory Bulletins", confirmed = false,
    summary = "Security advisory (PSIRT) bulletin details referenced by security-advisories.",
    key = { "securityAdvisoryInstanceId" },
    params = {
      { "customerId", "string", required = false },
      { "advisoryId", "string" },
      { "securityAdvisoryInstanceId", "id" },
      { "bulletinFirstPublished", "string" },
      { "bulletinLastUpdated", "string" },
      { "securityImpactRating", "string", enum = { "Critical", "High", "Medium", "Low", "Informational" } },
      { "cveId", "string" },
      { "bulletinTitle", "string" },
    },
    ids = { "advisoryId" },
    fields = {
      "securityAdvisoryInstanceId", "url", "bulletinVersion", "advisoryId", "bulletinTitle",
      "bulletinFirstPublished", "bulletinLastUpdated", "securityImpactRating", "bulletinSummary",
      "alertAutomationCaveat", "cveId", "cvssBaseScore", "cvssTemporalScore", "ciscoBugIds",
    },
  },
}

local function sorted_keys(set)
  local list = {}
  for k in pairs(set) do list[#list + 1] = k end
  table.sort(list)
  return list
end

-- index by name, and the derived `customer_id` ("required" / "optional" / nil) and
-- `identifiers`
local all_ids = {}
for i = 1, #operations do
  local op = operations[i]
  operations[op.name] = op
  local ids = {}
  for _, p in ipairs(op.params) do
    if p[1] == "customerId" then op.customer_id = p.required and "required" or "optional" end
    if p[1] == "customerId" or p[2] == "id" then ids[p[1]] = true end
  end
  for _, f in ipairs(op.ids or {}) do ids[f] = true end
  op.identifiers = sorted_keys(ids)
  for f in pairs(ids) do all_ids[f] = true end
end
operations.identifiers = sorted_keys(all_ids)

operations.BASE_URL = "https://apix.cisco.com/cs/api/v2"
operations.TOKEN_URL = "https://id.cisco.com/oauth2/default/v1/token"

return operations
