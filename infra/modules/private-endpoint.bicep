// One private endpoint with its DNS zone group, so the service's FQDN resolves to the private IP
// inside the VNet. Every private endpoint in this deployment goes through this module.

param name string
param location string
param tags object = {}

@description('Subnet that hosts the private endpoint NIC.')
param subnetId string

@description('Resource ID of the service the endpoint connects to.')
param privateLinkServiceId string

@description('Sub-resource (group id), e.g. account, namespace, blob, queue, table, azuremonitor, sites.')
param groupId string

@description('Private DNS zones that receive the endpoint records.')
param privateDnsZoneIds array

resource privateEndpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: { id: subnetId }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: privateLinkServiceId
          groupIds: [groupId]
        }
      }
    ]
  }

  resource dnsZoneGroup 'privateDnsZoneGroups' = {
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        for (zoneId, i) in privateDnsZoneIds: {
          name: 'zone-${i}'
          properties: { privateDnsZoneId: zoneId }
        }
      ]
    }
  }
}

output id string = privateEndpoint.id
