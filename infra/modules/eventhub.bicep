// Event Hubs: Standard namespace (private endpoint, no public access, no SAS keys), the hub APIM logs
// to, and the consumer group the Function App reads with.

param name string
param location string
param tags object = {}

@description('Name of the hub APIM writes to (APIM_LOGS_EVENTHUB_NAME).')
param hubName string = 'apim-openai-logs'

@description('Consumer group of the chargeback function (APIM_LOGS_CONSUMER_GROUP).')
param consumerGroupName string = 'chargeback'

@minValue(4)
@maxValue(32)
param partitionCount int = 4

param privateEndpointSubnetId string
param eventHubDnsZoneId string

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: 1
  }
  properties: {
    disableLocalAuth: true
    publicNetworkAccess: 'Disabled'
    minimumTlsVersion: '1.2'
    isAutoInflateEnabled: false
  }

  resource hub 'eventhubs' = {
    name: hubName
    properties: {
      partitionCount: partitionCount
      messageRetentionInDays: 7
    }

    resource consumerGroup 'consumergroups' = {
      name: consumerGroupName
      properties: {}
    }
  }
}

module privateEndpoint 'private-endpoint.bicep' = {
  name: 'pe-${name}'
  params: {
    name: 'pe-${name}'
    location: location
    tags: tags
    subnetId: privateEndpointSubnetId
    privateLinkServiceId: namespace.id
    groupId: 'namespace'
    privateDnsZoneIds: [eventHubDnsZoneId]
  }
}

output name string = namespace.name
output id string = namespace.id
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output hubName string = namespace::hub.name
output consumerGroupName string = namespace::hub::consumerGroup.name
