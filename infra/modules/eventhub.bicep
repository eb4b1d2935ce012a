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

@description('EVENTHUB_CAPTURE_ENABLED: Event Hubs Capture of the hub to captureContainerName of storageAccountName, as Avro, written with the namespace\'s system-assigned identity.')
param captureEnabled bool = false

@description('Storage account (same resource group) that holds the Capture container; only with captureEnabled.')
param storageAccountName string = ''

@description('Private container Capture writes to; only with captureEnabled.')
param captureContainerName string = 'chargeback-capture'

// The documented Capture naming convention (Event Hubs Capture overview); replay reads the partition from it.
var captureNameFormat = '{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}'

// Storage Blob Data Contributor: the role the Capture docs name for the namespace identity.
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource captureContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: '${storageAccountName}/default/${captureContainerName}'
}

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: 1
  }
  // Capture authenticates to storage as this identity (no SAS, no key); without Capture it holds no role.
  identity: {
    type: 'SystemAssigned'
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
      captureDescription: captureEnabled
        ? {
            enabled: true
            encoding: 'Avro'
            intervalInSeconds: 300
            sizeLimitInBytes: 314572800
            // No file for a window without events: the backfill needs the events only, and an idle hub
            // would otherwise write 4 partitions x 12 empty blobs an hour. The reader accepts empty files.
            skipEmptyArchives: true
            destination: {
              name: 'EventHubArchive.AzureBlockBlob'
              identity: {
                type: 'SystemAssigned'
              }
              properties: {
                storageAccountResourceId: storageAccount.id
                blobContainer: captureContainerName
                archiveNameFormat: captureNameFormat
              }
            }
          }
        : null
    }
    dependsOn: [
      captureWriter
    ]

    resource consumerGroup 'consumergroups' = {
      name: consumerGroupName
      properties: {}
    }
  }
}

// Capture writes the Avro files with the namespace identity: write access to the Capture container only.
resource captureWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (captureEnabled) {
  name: guid(captureContainer.id, namespace.id, storageBlobDataContributor)
  scope: captureContainer
  properties: {
    principalId: namespace.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
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
output captureEnabled bool = captureEnabled
