--- Static reference data the sandbox draws its generated rows from: product families
-- with their PIDs, software trains, end-of-life dates, company and place names.
--
-- Values are invented but shaped like Cisco's (product family names, PIDs, serial
-- prefixes, version strings). Nothing here is random: the generator combines these
-- tables with the seed.
-- @module cxcloud.sandbox.catalog

local catalog = {}

--- Product families. `eol` is the End-of-Life announcement date of the listed PIDs
-- (`eol_pids`, or every chassis when absent). Components: `modules`, `psus`, `fans`.
catalog.families = {
  {
    name = "Cisco Catalyst 9300 Series Switches", short = "C9300", type = "LAN Switches",
    slug = "switches/catalyst-9300-series-switches", role = "acc-sw", weight = 10,
    serials = { "FOC", "FJC" }, subtype = "Stackable", ru = "1 RU",
    chassis = { "C9300-24T", "C9300-48P", "C9300-48U", "C9300-24UX" },
    modules = { "C9300-NM-8X", "C9300-NM-4G", "C9300-NM-2Q" },
    psus = { "PWR-C1-715WAC", "PWR-C1-1100WAC" }, fans = { "FAN-T2" },
    sw = "IOS-XE", versions = { "17.3.4a", "17.6.5", "17.9.4a", "17.12.2" },
    oid = "1.3.6.1.4.1.9.1.2494", image = "cat9k_iosxe.%s.SPA.bin", memory = "8388608",
    flash = "16777216",
  },
  {
    name = "Cisco Catalyst 9200 Series Switches", short = "C9200", type = "LAN Switches",
    slug = "switches/catalyst-9200-series-switches", role = "acc-sw", weight = 8,
    serials = { "JAE", "FOC" }, subtype = "Stackable", ru = "1 RU",
    chassis = { "C9200-24P", "C9200-48P", "C9200L-24T-4G", "C9200L-48P-4X" },
    modules = { "C9200-NM-4G", "C9200-NM-4X" },
    psus = { "PWR-C5-125WAC", "PWR-C5-600WAC" }, fans = { "C9200-FAN" },
    sw = "IOS-XE", versions = { "16.12.4", "17.3.5", "17.6.4", "17.9.3" },
    oid = "1.3.6.1.4.1.9.1.2685", image = "cat9k_lite_iosxe.%s.SPA.bin", memory = "4194304",
    flash = "4194304",
  },
  {
    name = "Cisco Catalyst 2960-X Series Switches", short = "C2960X", type = "LAN Switches",
    slug = "switches/catalyst-2960-x-series-switches", role = "acc-sw", weight = 6,
    serials = { "FOC", "FCW" }, subtype = "Fixed", ru = "1 RU",
    chassis = { "WS-C2960X-24PS-L", "WS-C2960X-48FPD-L", "WS-C2960X-48TS-L" },
    modules = { "C2960X-STACK" }, psus = {}, fans = {},
    sw = "IOS", versions = { "15.2(4)E10", "15.2(7)E4", "15.2(7)E7" },
    oid = "1.3.6.1.4.1.9.1.1208", image = "c2960x-universalk9-mz.%s.bin", memory = "524288",
    flash = "122185728", eol = "2022-10-31",
  },
  {
    name = "Cisco Catalyst 3850 Series Switches", short = "C3850", type = "LAN Switches",
    slug = "switches/catalyst-3850-series-switches", role = "dist-sw", weight = 4,
    serials = { "FOC", "FCW" }, subtype = "Stackable", ru = "1 RU",
    chassis = { "WS-C3850-24T-S", "WS-C3850-48P-E", "WS-C3850-12X48U-S" },
    modules = { "C3850-NM-4-1G", "C3850-NM-2-10G" },
    psus = { "PWR-C1-715WAC" }, fans = { "FAN-T1" },
    sw = "IOS-XE", versions = { "16.9.8", "16.12.8" },
    oid = "1.3.6.1.4.1.9.1.1745", image = "cat3k_caa-universalk9.%s.SPA.bin", memory = "4194304",
    flash = "1638400", eol = "2021-10-30",
  },
  {
    name = "Cisco Catalyst 9500 Series Switches", short = "C9500", type = "LAN Switches",
    slug = "switches/catalyst-9500-series-switches", role = "core-sw", weight = 3,
    serials = { "FDO", "CAT" }, subtype = "Fixed", ru = "1 RU",
    chassis = { "C9500-48Y4C", "C9500-24Y4C", "C9500-32C" },
    modules = {}, psus = { "C9K-PWR-650WAC-R" }, fans = { "C9K-T1-FANTRAY" },
    sw = "IOS-XE", versions = { "17.6.5", "17.9.4a", "17.12.2" },
    oid = "1.3.6.1.4.1.9.1.2748", image = "cat9k_iosxe.%s.SPA.bin", memory = "16777216",
    flash = "16777216",
  },
  {
    name = "Cisco Nexus 9000 Series Switches", short = "N9K", type = "Data Center Switches",
    slug = "switches/nexus-9000-series-switches", role = "dc-leaf", weight = 4,
    serials = { "FDO", "SAL" }, subtype = "Fixed", ru = "1 RU",
    chassis = { "N9K-C93180YC-FX", "N9K-C9336C-FX2", "N9K-C93108TC-EX" },
    modules = {}, psus = { "NXA-PAC-650W-PE", "N9K-PAC-650W-B" }, fans = { "NXA-FAN-30CFM-B" },
    sw = "NX-OS", versions = { "9.3(8)", "9.3(10)", "10.2(5)", "10.3(3)" },
    oid = "1.3.6.1.4.1.9.12.3.1.3.1812", image = "nxos.%s.bin", memory = "24633856",
    flash = "53298520", eol = "2023-02-06", eol_pids = { "N9K-C93108TC-EX" },
  },
  {
    name = "Cisco 4000 Series Integrated Services Routers", short = "ISR4000", type = "Routers",
    slug = "routers/4000-series-integrated-services-routers-isr", role = "rtr", weight = 5,
    serials = { "FDO", "FLM" }, subtype = "Modular", ru = "1 RU",
    chassis = { "ISR4331/K9", "ISR4351/K9", "ISR4451-X/K9" },
    modules = { "NIM-2GE-CU-SFP", "NIM-4G-LTE-LA", "SM-X-16G4M2X" },
    psus = { "PWR-4330-AC", "PWR-4450-AC" }, fans = {},
    sw = "IOS-XE", versions = { "16.9.6", "17.3.6", "17.6.5" },
    oid = "1.3.6.1.4.1.9.1.2068", image = "isr4300-universalk9.%s.SPA.bin", memory = "4194304",
    flash = "8388608", eol = "2023-05-08", eol_pids = { "ISR4331/K9", "ISR4351/K9", "PWR-4330-AC" },
  },
  {
    name = "Cisco Catalyst 8300 Series Edge Platforms", short = "C8300", type = "Routers",
    slug = "routers/catalyst-8300-series-edge-platforms", role = "edge", weight = 3,
    serials = { "FGL", "FDO" }, subtype = "Modular", ru = "1 RU",
    chassis = { "C8300-1N1S-4T2X", "C8300-1N1S-6T", "C8300-2N2S-4T2X" },
    modules = { "C-NIM-8M", "NIM-ES2-8" },
    psus = { "PWR-CC1-250WAC", "PWR-CC1-650WAC" }, fans = { "C8300-FAN-1R" },
    sw = "IOS-XE", versions = { "17.6.5", "17.9.4a", "17.12.2" },
    oid = "1.3.6.1.4.1.9.1.2720", image = "c8000be-universalk9.%s.SPA.bin", memory = "8388608",
    flash = "8388608",
  },
  {
    name = "Cisco ASR 1000 Series Aggregation Services Routers", short = "ASR1000", type = "Routers",
    slug = "routers/asr-1000-series-aggregation-services-routers", role = "wan-rtr", weight = 2,
    serials = { "FXS", "JAE" }, subtype = "Modular", ru = "2 RU",
    chassis = { "ASR1001-X", "ASR1002-HX" },
    modules = { "SPA-1X10GE-L-V2", "EPA-18X1GE" },
    psus = { "ASR1001-X-PWR-AC", "ASR1002HX-PWR-AC" }, fans = { "ASR1002HX-FAN" },
    sw = "IOS-XE", versions = { "16.9.8", "17.3.8", "17.6.6" },
    oid = "1.3.6.1.4.1.9.1.1861", image = "asr1000-universalk9.%s.SPA.bin", memory = "8388608",
    flash = "8388608",
  },
  {
    name = "Cisco Catalyst 9100 Access Points", short = "C9100AP", type = "Wireless",
    slug = "wireless/catalyst-9100ax-access-points", role = "ap", weight = 8,
    serials = { "FJC", "KWC" }, subtype = "Indoor", ru = "Ceiling mount",
    chassis = { "C9120AXI-B", "C9120AXE-E", "C9130AXI-B", "C9115AXI-E" },
    modules = {}, psus = {}, fans = {},
    sw = "IOS-XE", versions = { "17.9.4a", "17.12.2" },
    oid = "1.3.6.1.4.1.9.1.2530", image = "ap1g7-k9w8-tar.%s", memory = "1048576",
    flash = "524288", eol = "2024-08-12", eol_pids = { "C9120AXE-E" },
  },
  {
    name = "Cisco 5500 Series Wireless Controllers", short = "AIR-CT5500", type = "Wireless",
    slug = "wireless/5520-wireless-controller", role = "wlc", weight = 1,
    serials = { "FCH" }, subtype = "Appliance", ru = "1 RU",
    chassis = { "AIR-CT5520-K9" }, modules = {}, psus = { "AIR-PSU1-770W" }, fans = {},
    sw = "AireOS", versions = { "8.5.182.0", "8.10.185.0" },
    oid = "1.3.6.1.4.1.9.1.2170", image = "AIR-CT5520-K9-%s.aes", memory = "16777216",
    flash = "1048576", eol = "2022-07-29",
  },
  {
    name = "Cisco Catalyst 9800 Series Wireless Controllers", short = "C9800", type = "Wireless",
    slug = "wireless/catalyst-9800-series-wireless-controllers", role = "wlc", weight = 1,
    serials = { "TTM", "FOX" }, subtype = "Appliance", ru = "1 RU",
    chassis = { "C9800-40-K9", "C9800-L-C-K9" }, modules = {}, psus = { "C9800-AC-750W" },
    fans = {}, sw = "IOS-XE", versions = { "17.9.4a", "17.12.2" },
    oid = "1.3.6.1.4.1.9.1.2391", image = "C9800-40-universalk9_wlc.%s.SPA.bin",
    memory = "33554432", flash = "16777216",
  },
  {
    name = "Cisco Firepower 2100 Series", short = "FPR2100", type = "Security",
    slug = "security/firepower-2100-series", role = "fw", weight = 2,
    serials = { "JAD", "JMX" }, subtype = "Appliance", ru = "1 RU",
    chassis = { "FPR2110-NGFW-K9", "FPR2130-NGFW-K9" }, modules = {},
    psus = { "FPR2K-PWR-AC-400" }, fans = { "FPR2K-FAN" },
    sw = "FTD", versions = { "7.0.6", "7.2.5", "7.4.1" },
    oid = "1.3.6.1.4.1.9.1.2402", image = "cisco-ftd-fp2k.%s.SPA", memory = "16777216",
    flash = "104857600", eol = "2024-05-13", eol_pids = { "FPR2110-NGFW-K9" },
  },
  {
    name = "Cisco ASA 5500-X Series Firewalls", short = "ASA5500X", type = "Security",
    slug = "security/asa-5500-series-next-generation-firewalls", role = "fw", weight = 1,
    serials = { "JAD", "FCH" }, subtype = "Appliance", ru = "1 RU",
    chassis = { "ASA5516-FPWR-K9", "ASA5525-K9" }, modules = {}, psus = {}, fans = {},
    sw = "ASA", versions = { "9.12(4)", "9.16(4)" },
    oid = "1.3.6.1.4.1.9.1.2131", image = "asa%s-lfbff-k8.SPA", memory = "8388608",
    flash = "8388608", eol = "2020-03-03",
  },
  {
    name = "Cisco UCS C-Series Rack Servers", short = "UCSC", type = "Unified Computing",
    slug = "servers-unified-computing/ucs-c-series-rack-servers", role = "srv", weight = 2,
    serials = { "WZP", "FCH" }, subtype = "Rack Server", ru = "1 RU",
    chassis = { "UCSC-C220-M5SX", "UCSC-C240-M5SX" },
    modules = { "UCSC-MLOM-C25Q-04", "UCSC-RAID-M5" },
    psus = { "UCSC-PSU1-1050W" }, fans = { "UCSC-FAN-C220M5" },
    sw = "CIMC", versions = { "4.1(3d)", "4.2(3b)" },
    oid = "1.3.6.1.4.1.9.1.2178", image = "ucs-c220m5-huu-%s.iso", memory = "134217728",
    flash = "0", eol = "2023-06-26", eol_pids = { "UCSC-C220-M5SX", "UCSC-C240-M5SX", "UCSC-RAID-M5" },
  },
}

--- Software trains with an End-of-Life bulletin: `sw`, `train` (prefix of the version
-- string), `announce` date.
catalog.sw_eol = {
  { sw = "IOS-XE", train = "16.9", title = "Cisco IOS XE 16.9.x", announce = "2020-03-31" },
  { sw = "IOS-XE", train = "16.12", title = "Cisco IOS XE 16.12.x", announce = "2021-09-30" },
  { sw = "IOS-XE", train = "17.3", title = "Cisco IOS XE 17.3.x", announce = "2022-03-31" },
  { sw = "IOS-XE", train = "17.6", title = "Cisco IOS XE 17.6.x", announce = "2024-03-29" },
  { sw = "NX-OS", train = "9.3", title = "Cisco NX-OS 9.3", announce = "2022-06-30" },
  { sw = "IOS", train = "15.2(4)E", title = "Cisco IOS 15.2(4)E", announce = "2019-07-31" },
  { sw = "AireOS", train = "8.5", title = "Cisco Wireless LAN Controller 8.5", announce = "2021-01-31" },
  { sw = "FTD", train = "7.0", title = "Cisco Firepower Threat Defense 7.0", announce = "2023-11-30" },
  { sw = "ASA", train = "9.12", title = "Cisco ASA 9.12", announce = "2021-12-17" },
  { sw = "CIMC", train = "4.1", title = "Cisco UCS C-Series CIMC 4.1", announce = "2023-07-14" },
}

--- Product slugs and vulnerability kinds for security advisories, per software type.
catalog.psirt_products = {
  ["IOS-XE"] = { slug = "iosxe", name = "Cisco IOS XE Software" },
  ["IOS"] = { slug = "ios", name = "Cisco IOS Software" },
  ["NX-OS"] = { slug = "nxos", name = "Cisco NX-OS Software" },
  ["AireOS"] = { slug = "wlc", name = "Cisco Wireless LAN Controller Software" },
  ["FTD"] = { slug = "ftd", name = "Cisco Firepower Threat Defense Software" },
  ["ASA"] = { slug = "asaftd", name = "Cisco Adaptive Security Appliance Software" },
  ["CIMC"] = { slug = "cimc", name = "Cisco Integrated Management Controller" },
}
catalog.sw_types = { "IOS-XE", "IOS-XE", "IOS-XE", "NX-OS", "IOS", "AireOS", "FTD", "ASA", "CIMC" }

catalog.vulns = {
  { "webui-privesc", "Web UI Privilege Escalation Vulnerability" },
  { "snmp-dos", "SNMP Denial of Service Vulnerability" },
  { "cmdinj", "Command Injection Vulnerability" },
  { "ssh-auth", "SSH Authentication Bypass Vulnerability" },
  { "xss", "Web-Based Management Interface Cross-Site Scripting Vulnerability" },
  { "info-disc", "Information Disclosure Vulnerability" },
  { "ipv6-dos", "IPv6 Packet Processing Denial of Service Vulnerability" },
  { "arb-file", "Arbitrary File Write Vulnerability" },
  { "rce", "Remote Code Execution Vulnerability" },
  { "dhcp-dos", "DHCP Snooping Denial of Service Vulnerability" },
}
catalog.impact = { -- security impact rating with a CVSS base score range
  { "Critical", 90, 100 }, { "High", 70, 89 }, { "High", 70, 89 }, { "Medium", 40, 69 },
  { "Medium", 40, 69 }, { "Medium", 40, 69 }, { "Low", 10, 39 }, { "Informational", 0, 0 },
}

catalog.fn_issues = {
  { "Hardware", "Power Supply Might Fail - Hardware Upgrade Available" },
  { "Hardware", "Some Units Might Fail to Boot After Power Cycle - Replace on Failure" },
  { "Software", "Devices Might Reload Unexpectedly Due to a Memory Leak - Software Upgrade Recommended" },
  { "Software", "Certificate Expiration Causes Smart Licensing Failure - Software Upgrade Recommended" },
  { "Hardware", "Flash Memory Wear Might Cause Boot Failure - Workaround Available" },
  { "Other", "Incorrect Labeling on a Limited Number of Units - No Action Required" },
  { "Software", "ROMMON Upgrade Required to Support New Hardware Revision" },
  { "Hardware", "Fan Tray Might Report False Failure Alarms - Software Workaround Available" },
}

catalog.service_levels = { "SNT", "SNTP", "S2P", "SNTE", "NCDP", "PSRT", "ECMU", "NC2P" }
catalog.sla = { SNT = "8x5xNBD", SNTP = "24x7x4", S2P = "24x7x2", SNTE = "8x5x4", NCDP = "24x7x4",
  PSRT = "8x5xNBD", ECMU = "Software", NC2P = "24x7x2" }

catalog.companies = {
  "ACME MINING CORP", "GLOBEX CORPORATION", "INITECH LLC", "UMBRELLA HEALTH SYSTEMS",
  "STARK LOGISTICS INC", "WAYNE MUNICIPAL UTILITIES", "SOCIÉTÉ GÉNÉRALE D'ÉNERGIE",
  "NORDLICHT BANK AG", "CYBERDYNE SYSTEMS", "TYRELL MANUFACTURING", "OCEANIC AIRLINES",
  "MASSIVE DYNAMIC", "HOOLI", "VANDELAY INDUSTRIES", "SOYLENT FOODS", "PIED PIPER INC",
  "BLUTH COMPANY", "DUNDER MIFFLIN PAPER", "WONKA CONFECTIONERY", "GRINGOTTS FINANCIAL",
  "São Paulo Telecomunicações SA", "CITY OF SPRINGFIELD", "KRUSTY BRANDS", "ZORG INDUSTRIES",
}
catalog.suffixes = { "HOLDINGS", "GROUP", "INTERNATIONAL", "SERVICES", "PARTNERS" }

--- Places: city, state, country, postal code, theater, site code.
catalog.places = {
  { "DENVER", "CO", "US", "80202", "AMERICAS", "den" },
  { "SAN JOSE", "CA", "US", "95134", "AMERICAS", "sjc" },
  { "RESEARCH TRIANGLE PARK", "NC", "US", "27709", "AMERICAS", "rtp" },
  { "NEW YORK", "NY", "US", "10001", "AMERICAS", "nyc" },
  { "TORONTO", "ON", "CA", "M5V 3L9", "AMERICAS", "yyz" },
  { "SAO PAULO", "SP", "BR", "04543-000", "AMERICAS", "gru" },
  { "LONDON", "null", "GB", "EC2M 7PY", "EMEAR", "lon" },
  { "PARIS", "null", "FR", "75008", "EMEAR", "par" },
  { "FRANKFURT", "HE", "DE", "60311", "EMEAR", "fra" },
  { "AMSTERDAM", "NH", "NL", "1012 AB", "EMEAR", "ams" },
  { "DUBAI", "null", "AE", "00000", "EMEAR", "dxb" },
  { "BANGALORE", "KA", "IN", "560103", "APJC", "blr" },
  { "SINGAPORE", "null", "SG", "018989", "APJC", "sin" },
  { "SYDNEY", "NSW", "AU", "2000", "APJC", "syd" },
  { "TOKYO", "null", "JP", "107-0052", "APJC", "tyo" },
}
catalog.streets = {
  "MAIN ST", "DATA WAY", "TASMAN DR", "MARKET ST", "KING ST W", "HIGH ST", "RUE DE RIVOLI",
  "KAISERSTRASSE", "DAMRAK", "MG ROAD", "ORCHARD RD", "GEORGE ST", "OMOTESANDO",
}
catalog.site_kinds = { "DC1", "DC2", "HQ", "CAMPUS", "BRANCH", "WAREHOUSE", "LAB" }
catalog.reset_reasons = { "Reload Command", "Power Failure", "Software Upgrade", "Unknown",
  "Watchdog Timeout" }
catalog.feature_sets = { "network-advantage", "network-essentials", "dna-advantage",
  "dna-essentials", "ipbasek9", "securityk9" }

return catalog
