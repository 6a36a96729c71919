--- The 14 CX Cloud API v2 operations as the sandbox serves them.
--
-- One entry per operation: `name` (the client's method name), `path` (under
-- /cs/api/v2), `scope`, `params` (documented filter parameters besides page, rows,
-- sort and fields, each with a kind) and `fields` (item fields in the order the
-- sandbox writes them, each with a kind).
--
-- scope:
--   "list"      customer-details: customerId is an optional filter; lists the
--               customers the credentials are entitled to.
--   "customer"  customerId is required and must be entitled.
--   "catalogue" bulletins: customerId is optional (required when the option
--               `bulletins_require_customer` is set); the catalogue is global.
--
-- kinds: "string"; "id" (an integer ID: a JSON number, or a JSON string when the
-- option `id_type = "string"`; 20-22 digits when `big_ids = true`).
--
-- Filter parameters that are not item fields (e.g. `hostname` on field-notices) filter
-- on the device the row belongs to. Compiled from cxcloud-api.json at development
-- time; the sandbox does not read that file at run time.
-- @module cxcloud.sandbox.ops

local ops = {
  {
    name = "customers", path = "/customer-info/customer-details",
    scope = "list",
    params = {
      customerName = "string",
    },
    fields = {
      { "customerId", "string" }, { "customerName", "string" }, { "streetAddress1", "string" },
      { "streetAddress2", "string" }, { "streetAddress3", "string" },
      { "streetAddress4", "string" }, { "city", "string" }, { "state", "string" },
      { "country", "string" }, { "zipCode", "string" }, { "theaterCode", "string" },
    },
  },
  {
    name = "hardware", path = "/inventory/hardware",
    scope = "customer",
    params = {
      managedNeInstanceId = "id", neInstanceId = "id", hwInstanceId = "id", hwType = "string",
      productSubtype = "string", productType = "string", productFamily = "string",
      productId = "string", serialNumber = "string", dimensionsFormat = "string",
      dimensions = "string", weight = "string", formFactor = "string", supportPage = "string",
      visioStencilUrl = "string", smallImageUrl = "string", largeImageUrl = "string",
      baseProductId = "string", productReleaseDate = "string",
    },
    fields = {
      { "neInstanceId", "id" }, { "managedNeInstanceId", "id" }, { "inventoryName", "string" },
      { "hwInstanceId", "id" }, { "hwName", "string" }, { "hwType", "string" },
      { "productSubtype", "string" }, { "slot", "string" }, { "productFamily", "string" },
      { "productId", "string" }, { "productType", "string" }, { "swVersion", "string" },
      { "serialNumber", "string" }, { "serialNumberStatus", "string" },
      { "hwRevision", "string" }, { "tan", "string" }, { "tanRevision", "string" },
      { "pcbNumber", "string" }, { "installedMemory", "string" },
      { "installedFlash", "string" }, { "collectedSerialNumber", "string" },
      { "collectedProductId", "string" }, { "productName", "string" },
      { "dimensionsFormat", "string" }, { "dimensions", "string" }, { "weight", "string" },
      { "formFactor", "string" }, { "supportPage", "string" }, { "visioStencilUrl", "string" },
      { "smallImageUrl", "string" }, { "largeImageUrl", "string" },
      { "baseProductId", "string" }, { "productReleaseDate", "string" },
      { "productDescription", "string" },
    },
  },
  {
    name = "network_elements", path = "/inventory/network-elements",
    scope = "customer",
    params = {
      neInstanceId = "id", managedNeInstanceId = "id", productFamily = "string",
      isManagedNe = "string", ipAddress = "string", hostname = "string", swVersion = "string",
      swType = "string",
    },
    fields = {
      { "neInstanceId", "id" }, { "managedNeInstanceId", "id" }, { "inventoryName", "string" },
      { "managementAddress", "string" }, { "neSubtype", "string" },
      { "inventoryAvailability", "string" }, { "lastConfigRegister", "string" },
      { "ipAddress", "string" }, { "hostname", "string" }, { "sysName", "string" },
      { "featureSet", "string" }, { "inventoryCollectionDate", "string" },
      { "productFamily", "string" }, { "productId", "string" }, { "productType", "string" },
      { "createDate", "string" }, { "swType", "string" }, { "swVersion", "string" },
      { "reachabilityStatus", "string" }, { "neType", "string" }, { "lastReset", "string" },
      { "resetReason", "string" }, { "sysContact", "string" }, { "sysDescr", "string" },
      { "sysLocation", "string" }, { "sysObjectId", "string" }, { "configRegister", "string" },
      { "configAvailability", "string" }, { "configCollectionDate", "string" },
      { "imageName", "string" }, { "bootstrapVersion", "string" }, { "isManagedNe", "string" },
      { "userField1", "string" }, { "userField2", "string" }, { "userField3", "string" },
      { "userField4", "string" }, { "macAddress", "string" }, { "collectorId", "string" },
    },
  },
  {
    name = "contracts", path = "/contracts/contract-details",
    scope = "customer",
    params = {
      contractNumber = "string", contractStatus = "string", contractStartDate = "string",
      contractEndDate = "string", serviceLevel = "string",
    },
    fields = {
      { "contractNumber", "string" }, { "contractStatus", "string" },
      { "contractStartDate", "string" }, { "contractEndDate", "string" },
      { "serviceProgram", "string" }, { "serviceLevel", "string" },
      { "billtoSiteId", "string" }, { "billtoSiteName", "string" },
      { "billtoAddressLine1", "string" }, { "billtoAddressLine2", "string" },
      { "billtoAddressLine3", "string" }, { "billtoAddressLine4", "string" },
      { "billtoCity", "string" }, { "billtoState", "string" },
      { "billtoPostalCode", "string" }, { "billtoProvince", "string" },
      { "billtoCountry", "string" }, { "billtoGuName", "string" }, { "siteUseName", "string" },
      { "siteUseId", "string" }, { "siteAddress1", "string" }, { "siteCity", "string" },
      { "siteStateProvince", "string" }, { "sitePostalCode", "string" },
      { "siteCountry", "string" }, { "baseProductId", "string" },
    },
  },
  {
    name = "coverage", path = "/contracts/coverage",
    scope = "customer",
    params = {
      contractNumber = "string", serialNumber = "string", productId = "string",
      coverageStatus = "string", coverageStartDate = "string", coverageEndDate = "string",
      contractStatus = "string", serviceLevel = "string", serviceLineStatus = "string",
      billtoPartyId = "string",
    },
    fields = {
      { "serialNumber", "string" }, { "productId", "string" }, { "productFamily", "string" },
      { "coverageStatus", "string" }, { "contractInstanceNumber", "string" },
      { "parentContractInstanceId", "string" }, { "orderShipDate", "string" },
      { "serviceable", "string" }, { "coverageStartDate", "string" },
      { "coverageEndDate", "string" }, { "warrantyStartDate", "string" },
      { "warrantyEndDate", "string" }, { "warrantyType", "string" },
      { "contractNumber", "string" }, { "serviceLevel", "string" }, { "slaType", "string" },
      { "serviceProgram", "string" }, { "contractStartDate", "string" },
      { "contractEndDate", "string" }, { "contractStatus", "string" },
      { "shiptoSiteId", "string" }, { "shiptoSiteName", "string" },
      { "shiptoAddressLine1", "string" }, { "shiptoAddressLine2", "string" },
      { "shiptoAddressLine3", "string" }, { "shiptoAddressLine4", "string" },
      { "shiptoCity", "string" }, { "shiptoState", "string" },
      { "shiptoPostalCode", "string" }, { "shiptoProvince", "string" },
      { "shiptoCountry", "string" }, { "installedatSiteId", "string" },
      { "installedatSiteName", "string" }, { "installedatAddressLine1", "string" },
      { "installedatAddressLine2", "string" }, { "installedatAddressLine3", "string" },
      { "installedatAddressLine4", "string" }, { "installedatCity", "string" },
      { "installedatState", "string" }, { "installedatPostalCode", "string" },
      { "installedatProvince", "string" }, { "installedatCountry", "string" },
      { "billtoSiteId", "string" }, { "billtoSiteName", "string" },
      { "billtoAddressLine1", "string" }, { "billtoAddressLine2", "string" },
      { "billtoAddressLine3", "string" }, { "billtoAddressLine4", "string" },
      { "billtoCity", "string" }, { "billtoState", "string" },
      { "billtoPostalCode", "string" }, { "billtoProvince", "string" },
      { "billtoCountry", "string" }, { "neInstanceId", "id" }, { "billtoPartyId", "string" },
      { "installAtGuPartyId", "string" }, { "contractInstanceId", "string" },
      { "serviceLineId", "string" }, { "serviceLineStatus", "string" },
      { "lineCustomerName", "string" }, { "businessProcessName", "string" },
      { "entitledParty", "string" }, { "installGUName", "string" },
    },
  },
  {
    name = "not_covered", path = "/contracts/not-covered",
    scope = "customer",
    params = {
      serialNumber = "string", productId = "string",
    },
    fields = {
      { "contractInstanceNumber", "string" }, { "serialNumber", "string" },
      { "productId", "string" }, { "hwType", "string" }, { "orderShipDate", "string" },
      { "installedatSiteId", "string" }, { "installedatSiteName", "string" },
      { "installedatAddressLine1", "string" }, { "installedatAddressLine2", "string" },
      { "installedatAddressLine3", "string" }, { "installedatAddressLine4", "string" },
      { "installedatCity", "string" }, { "installedatState", "string" },
      { "installedatPostalCode", "string" }, { "installedatProvince", "string" },
      { "installedatCountry", "string" }, { "warrantyType", "string" },
      { "warrantyStartDate", "string" }, { "warrantyEndDate", "string" },
      { "neInstanceId", "id" }, { "billtoPartyId", "string" },
    },
  },
  {
    name = "field_notices", path = "/product-alerts/field-notices",
    scope = "customer",
    params = {
      neInstanceId = "id", managedNeInstanceId = "id", hwInstanceId = "id",
      vulnerabilityStatus = "string", bulletinNumber = "id", swType = "string",
      hostname = "string",
    },
    fields = {
      { "neInstanceId", "id" }, { "managedNeInstanceId", "id" },
      { "vulnerabilityStatus", "string" }, { "vulnerabilityReason", "string" },
      { "hwInstanceId", "id" }, { "bulletinNumber", "id" },
    },
  },
  {
    name = "field_notice_bulletins", path = "/product-alerts/field-notice-bulletins",
    scope = "catalogue",
    params = {
      bulletinNumber = "id", bulletinFirstPublished = "string",
    },
    fields = {
      { "bulletinFirstPublished", "string" }, { "bulletinNumber", "id" },
      { "fieldNoticeType", "string" }, { "bulletinTitle", "string" },
      { "bulletinLastUpdated", "string" }, { "alertAutomationCaveat", "string" },
      { "url", "string" }, { "bulletinSummary", "string" },
    },
  },
  {
    name = "hardware_eol", path = "/product-alerts/hardware-eol",
    scope = "customer",
    params = {
      neInstanceId = "id", managedNeInstanceId = "id", hwInstanceId = "id",
      hostname = "string", hwType = "string", currentHwEolMilestone = "string",
      nextHwEolMilestone = "string",
    },
    fields = {
      { "neInstanceId", "id" }, { "managedNeInstanceId", "id" }, { "hwType", "string" },
      { "currentHwEolMilestone", "string" }, { "nextHwEolMilestone", "string" },
      { "hwInstanceId", "id" }, { "productId", "string" },
      { "currentHwEolMilestoneDate", "string" }, { "nextHwEolMilestoneDate", "string" },
      { "hwEolInstanceId", "id" },
    },
  },
  {
    name = "hardware_eol_bulletins", path = "/product-alerts/hardware-eol-bulletins",
    scope = "catalogue",
    params = {
      hwEolInstanceId = "id", bulletinProductId = "string", bulletinNumber = "string",
      bulletinTitle = "string", eoLifeAnnouncementDate = "string", eoSaleDate = "string",
      lastShipDate = "string", eoSwMaintenanceReleasesDate = "string",
      eoRoutineFailureAnalysisDate = "string", eoNewServiceAttachmentDate = "string",
      eoServiceContractRenewalDate = "string", lastDateOfSupport = "string",
      eoVulnerabilitySecuritySupport = "string",
    },
    fields = {
      { "hwEolInstanceId", "id" }, { "bulletinProductId", "string" },
      { "bulletinNumber", "string" }, { "bulletinTitle", "string" },
      { "eoLifeAnnouncementDate", "string" }, { "eoSaleDate", "string" },
      { "lastShipDate", "string" }, { "eoSwMaintenanceReleasesDate", "string" },
      { "eoRoutineFailureAnalysisDate", "string" }, { "eoNewServiceAttachmentDate", "string" },
      { "eoServiceContractRenewalDate", "string" }, { "lastDateOfSupport", "string" },
      { "eoVulnerabilitySecuritySupport", "string" }, { "url", "string" },
    },
  },
  {
    name = "software_eol", path = "/product-alerts/software-eol",
    scope = "customer",
    params = {
      neInstanceId = "id", managedNeInstanceId = "id", hostname = "string", swType = "string",
      currentSwEolMilestone = "string", nextSwEolMilestone = "string", swVersion = "string",
    },
    fields = {
      { "neInstanceId", "id" }, { "managedNeInstanceId", "id" }, { "swType", "string" },
      { "currentSwEolMilestone", "string" }, { "nextSwEolMilestone", "string" },
      { "swVersion", "string" }, { "currentSwEolMilestoneDate", "string" },
      { "nextSwEolMilestoneDate", "string" }, { "swEolInstanceId", "id" },
    },
  },
  {
    name = "software_eol_bulletins", path = "/product-alerts/software-eol-bulletins",
    scope = "catalogue",
    params = {
      swEolInstanceId = "id", swMajorVersion = "string", swTrain = "string", swType = "string",
      bulletinNumber = "string", bulletinTitle = "string", eoLifeAnnouncementDate = "string",
      eoSaleDate = "string", eoSwMaintenanceReleasesDate = "string",
      eoVulnerabilitySecuritySupport = "string", lastDateOfSupport = "string",
    },
    fields = {
      { "swEolInstanceId", "id" }, { "bulletinNumber", "string" },
      { "bulletinTitle", "string" }, { "swMajorVersion", "string" },
      { "swMaintenanceVersion", "string" }, { "swTrain", "string" }, { "swType", "string" },
      { "eoLifeAnnouncementDate", "string" }, { "eoSaleDate", "string" },
      { "eoSwMaintenanceReleasesDate", "string" },
      { "eoVulnerabilitySecuritySupport", "string" }, { "lastDateOfSupport", "string" },
      { "url", "string" },
    },
  },
  {
    name = "security_advisories", path = "/product-alerts/security-advisories",
    scope = "customer",
    params = {
      hostname = "string", swType = "string", neInstanceId = "id", hwInstanceId = "id",
      managedNeInstanceId = "id", vulnerabilityStatus = "string",
      securityAdvisoryInstanceId = "id",
    },
    fields = {
      { "neInstanceId", "id" }, { "managedNeInstanceId", "id" }, { "hwInstanceId", "id" },
      { "vulnerabilityStatus", "string" }, { "vulnerabilityReason", "string" },
      { "securityAdvisoryInstanceId", "id" },
    },
  },
  {
    name = "security_advisory_bulletins", path = "/product-alerts/security-advisory-bulletins",
    scope = "catalogue",
    params = {
      advisoryId = "string", securityAdvisoryInstanceId = "id",
      bulletinFirstPublished = "string", bulletinLastUpdated = "string",
      securityImpactRating = "string", cveId = "string", bulletinTitle = "string",
    },
    fields = {
      { "securityAdvisoryInstanceId", "id" }, { "url", "string" },
      { "bulletinVersion", "string" }, { "advisoryId", "string" },
      { "bulletinTitle", "string" }, { "bulletinFirstPublished", "string" },
      { "bulletinLastUpdated", "string" }, { "securityImpactRating", "string" },
      { "bulletinSummary", "string" }, { "alertAutomationCaveat", "string" },
      { "cveId", "string" }, { "cvssBaseScore", "string" }, { "cvssTemporalScore", "string" },
      { "ciscoBugIds", "string" },
    },
  },
}

ops.by_name, ops.by_path = {}, {}
for _, op in ipairs(ops) do
  op.kind = {}
  op.field_names = {}
  for i, f in ipairs(op.fields) do
    op.field_names[i] = f[1]
    op.kind[f[1]] = f[2]
  end
  if op.scope == "list" then
    op.params.customerId = "string"
  end
  -- filter parameters that are not item fields: filter on the row's device
  op.hidden = {}
  for p in pairs(op.params) do
    if not op.kind[p] then op.hidden[p] = true end
  end
  ops.by_name[op.name] = op
  ops.by_path[op.path] = op
end

--- Sorted list of the operation names (for messages).
-- @treturn string
function ops.names()
  local t = {}
  for _, op in ipairs(ops) do t[#t + 1] = op.name end
  return table.concat(t, ", ")
end

return ops
