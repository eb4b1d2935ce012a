// Network: one VNet with three subnets (APIM outbound integration, private endpoints, Function App
// integration), NSGs, and one private DNS zone per private-link service, each linked to the VNet.

@description('Azure region.')
param location string

@description('Resource tags.')
param tags object = {}

@description('Virtual network name.')
param vnetName string

@description('Function App hosting plan; decides the delegation of the integration subnet.')
@allowed(['FlexConsumption', 'ElasticPremium'])
param functionPlanType string

@description('Address space of the VNet.')
param addressPrefix string = '10.40.0.0/16'

var apimSubnetPrefix = cidrSubnet(addressPrefix, 24, 1)
var privateEndpointSubnetPrefix = cidrSubnet(addressPrefix, 24, 2)
var functionSubnetPrefix = cidrSubnet(addressPrefix, 24, 3)

// Flex Consumption integrates through Microsoft.App/environments; Elastic Premium through serverFarms.
var functionDelegation = functionPlanType == 'FlexConsumption' ? 'Microsoft.App/environments' : 'Microsoft.Web/serverFarms'

// Every service reached through a private endpoint needs its privatelink zone.
var privateDnsZoneNames = [
  'privatelink.openai.azure.com'
  'privatelink.servicebus.windows.net'
  'privatelink.blob.${environment().suffixes.storage}'
  'privatelink.queue.${environment().suffixes.storage}'
  'privatelink.table.${environment().suffixes.storage}'
  'privatelink.monitor.azure.com'
  'privatelink.oms.opinsights.azure.com'
  'privatelink.ods.opinsights.azure.com'
  'privatelink.agentsvc.azure-automation.net'
  'privatelink.azurewebsites.net'
]

// APIM (v2 tier, VNet integration): the subnet only carries outbound traffic from the gateway to the
// private endpoints and to the platform dependencies APIM needs (Storage, Key Vault, Azure Monitor).
resource apimNsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: 'nsg-apim-${vnetName}'
  location: location
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'AllowStorageOutbound'
        properties: {
          priority: 100
          direction: 'Outbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: 'VirtualNetwork'
          sourcePortRange: '*'
          destinationAddressPrefix: 'Storage'
          destinationPortRange: '443'
        }
      }
      {
        name: 'AllowKeyVaultOutbound'
        properties: {
          priority: 110
          direction: 'Outbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: 'VirtualNetwork'
          sourcePortRange: '*'
          destinationAddressPrefix: 'AzureKeyVault'
          destinationPortRange: '443'
        }
      }
      {
        name: 'AllowAzureMonitorOutbound'
        properties: {
          priority: 120
          direction: 'Outbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: 'VirtualNetwork'
          sourcePortRange: '*'
          destinationAddressPrefix: 'AzureMonitor'
          destinationPortRanges: ['443', '1886']
        }
      }
      {
        name: 'AllowPrivateEndpointsOutbound'
        properties: {
          priority: 130
          direction: 'Outbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: 'VirtualNetwork'
          sourcePortRange: '*'
          destinationAddressPrefix: privateEndpointSubnetPrefix
          destinationPortRanges: ['443', '5671', '5672']
        }
      }
    ]
  }
}

// Private endpoints: only the APIM and Function subnets may reach them.
resource privateEndpointNsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: 'nsg-pe-${vnetName}'
  location: location
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'AllowApimInbound'
        properties: {
          priority: 100
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: apimSubnetPrefix
          sourcePortRange: '*'
          destinationAddressPrefix: privateEndpointSubnetPrefix
          destinationPortRanges: ['443', '5671', '5672']
        }
      }
      {
        name: 'AllowFunctionInbound'
        properties: {
          priority: 110
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: functionSubnetPrefix
          sourcePortRange: '*'
          destinationAddressPrefix: privateEndpointSubnetPrefix
          destinationPortRanges: ['443', '5671', '5672']
        }
      }
    ]
  }
}

resource functionNsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: 'nsg-func-${vnetName}'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: vnetName
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [addressPrefix]
    }
    subnets: [
      {
        name: 'snet-apim'
        properties: {
          addressPrefix: apimSubnetPrefix
          networkSecurityGroup: { id: apimNsg.id }
          delegations: [
            {
              name: 'apim-v2-integration'
              properties: { serviceName: 'Microsoft.Web/serverFarms' }
            }
          ]
        }
      }
      {
        name: 'snet-private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          networkSecurityGroup: { id: privateEndpointNsg.id }
          privateEndpointNetworkPolicies: 'Enabled'
        }
      }
      {
        name: 'snet-function'
        properties: {
          addressPrefix: functionSubnetPrefix
          networkSecurityGroup: { id: functionNsg.id }
          delegations: [
            {
              name: 'function-integration'
              properties: { serviceName: functionDelegation }
            }
          ]
        }
      }
    ]
  }
}

resource privateDnsZones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for zoneName in privateDnsZoneNames: {
    name: zoneName
    location: 'global'
    tags: tags
  }
]

resource privateDnsZoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (zoneName, i) in privateDnsZoneNames: {
    parent: privateDnsZones[i]
    name: 'link-${vnetName}'
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: { id: vnet.id }
    }
  }
]

output vnetId string = vnet.id
output apimSubnetId string = vnet.properties.subnets[0].id
output privateEndpointSubnetId string = vnet.properties.subnets[1].id
output functionSubnetId string = vnet.properties.subnets[2].id

output openAiDnsZoneId string = privateDnsZones[0].id
output eventHubDnsZoneId string = privateDnsZones[1].id
output blobDnsZoneId string = privateDnsZones[2].id
output queueDnsZoneId string = privateDnsZones[3].id
output tableDnsZoneId string = privateDnsZones[4].id
output monitorDnsZoneIds array = [
  privateDnsZones[5].id
  privateDnsZones[6].id
  privateDnsZones[7].id
  privateDnsZones[8].id
  privateDnsZones[2].id
]
output webDnsZoneId string = privateDnsZones[9].id
