// Network: one VNet with five subnets (APIM outbound integration, private endpoints, Function App
// integration, the optional private APIM gateway endpoint, and operators: jump box / DevBox / self-hosted
// runner), NSGs, and one private DNS zone per private-link service, each linked to the VNet.

@description('Azure region.')
param location string

@description('Resource tags.')
param tags object = {}

@description('Virtual network name.')
param vnetName string

@description('Create the privatelink.azure-api.net zone for the private APIM gateway endpoint.')
param apimPrivateGateway bool = false

@description('Address ranges outside this VNet (peered networks, VPN) that operators deploy and read from; they may reach the private endpoints on 443 like the operator subnet.')
param operatorAddressPrefixes array = []

@description('Address space of the VNet.')
param addressPrefix string = '10.40.0.0/16'

var apimSubnetPrefix = cidrSubnet(addressPrefix, 24, 1)
var privateEndpointSubnetPrefix = cidrSubnet(addressPrefix, 24, 2)
var functionSubnetPrefix = cidrSubnet(addressPrefix, 24, 3)
var gatewayEndpointSubnetPrefix = cidrSubnet(addressPrefix, 24, 4)
var operatorSubnetPrefix = cidrSubnet(addressPrefix, 24, 5)

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

// Private endpoints: only the APIM and Function subnets (all service ports) and operators (HTTPS: the
// Function App's SCM endpoint for deploys from the VNet, blob reads of the ledger) may reach them. The
// final Deny overrides the default AllowVnetInBound rule (priority 65000), which would let the whole VNet in.
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
      {
        name: 'AllowOperatorsHttpsInbound'
        properties: {
          priority: 120
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefixes: concat([operatorSubnetPrefix], operatorAddressPrefixes)
          sourcePortRange: '*'
          destinationAddressPrefix: privateEndpointSubnetPrefix
          destinationPortRange: '443'
        }
      }
      {
        name: 'DenyAllOtherInbound'
        properties: {
          priority: 4096
          direction: 'Inbound'
          access: 'Deny'
          protocol: '*'
          sourceAddressPrefix: '*'
          sourcePortRange: '*'
          destinationAddressPrefix: '*'
          destinationPortRange: '*'
        }
      }
    ]
  }
}

// The private APIM gateway endpoint has its own subnet: every client in the VNet (and peered networks)
// may call the gateway on 443, which must not open the other private endpoints to them.
resource gatewayEndpointNsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: 'nsg-gw-${vnetName}'
  location: location
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'AllowHttpsToGatewayInbound'
        properties: {
          priority: 100
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: 'VirtualNetwork'
          sourcePortRange: '*'
          destinationAddressPrefix: gatewayEndpointSubnetPrefix
          destinationPortRange: '443'
        }
      }
      {
        name: 'DenyAllOtherInbound'
        properties: {
          priority: 4096
          direction: 'Inbound'
          access: 'Deny'
          protocol: '*'
          sourceAddressPrefix: '*'
          sourcePortRange: '*'
          destinationAddressPrefix: '*'
          destinationPortRange: '*'
        }
      }
    ]
  }
}

// Jump box, DevBox or self-hosted runner for teams that deploy and read from inside the VNet.
resource operatorNsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: 'nsg-ops-${vnetName}'
  location: location
  tags: tags
  properties: {
    securityRules: []
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
              // Flex Consumption integrates through Microsoft.App/environments (Microsoft.App must be registered).
              properties: { serviceName: 'Microsoft.App/environments' }
            }
          ]
        }
      }
      {
        name: 'snet-gateway-endpoint'
        properties: {
          addressPrefix: gatewayEndpointSubnetPrefix
          networkSecurityGroup: { id: gatewayEndpointNsg.id }
          privateEndpointNetworkPolicies: 'Enabled'
        }
      }
      {
        name: 'snet-operators'
        properties: {
          addressPrefix: operatorSubnetPrefix
          networkSecurityGroup: { id: operatorNsg.id }
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

// Only when the gateway is private: its endpoint's records live here.
resource apimDnsZone 'Microsoft.Network/privateDnsZones@2024-06-01' = if (apimPrivateGateway) {
  name: 'privatelink.azure-api.net'
  location: 'global'
  tags: tags
}

resource apimDnsZoneLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = if (apimPrivateGateway) {
  parent: apimDnsZone
  name: 'link-${vnetName}'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: { id: vnet.id }
  }
}

output vnetId string = vnet.id
output apimSubnetId string = vnet.properties.subnets[0].id
output privateEndpointSubnetId string = vnet.properties.subnets[1].id
output functionSubnetId string = vnet.properties.subnets[2].id
output gatewayEndpointSubnetId string = vnet.properties.subnets[3].id
output operatorSubnetId string = vnet.properties.subnets[4].id
output apimDnsZoneId string = apimPrivateGateway ? apimDnsZone.id : ''

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
