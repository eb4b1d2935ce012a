// Storage for the Functions host (AzureWebJobsStorage: blobs, queues, tables), the Flex deployment
// package, the usage ledger and the dead letters. Shared-key access and public access are off; the host
// and the handler use the Function App's managed identity through the private endpoints.

param name string
param location string
param tags object = {}

@description('Blob container for the ledger (CHARGEBACK_LEDGER_CONTAINER).')
param ledgerContainerName string = 'chargeback-ledger'

@description('Blob container for dead letters (CHARGEBACK_DEADLETTER_CONTAINER).')
param deadLetterContainerName string = 'chargeback-deadletter'

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string = 'app-package'

@description('EVENTHUB_CAPTURE_ENABLED: create the private Capture container and admit the trusted-service exception Event Hubs Capture needs (see docs/deploy.md). Default false: public network access stays Disabled.')
param captureEnabled bool = false

@description('Blob container Event Hubs Capture writes Avro files to (only with captureEnabled).')
param captureContainerName string = 'chargeback-capture'

param privateEndpointSubnetId string

@description('The deploying user (azd AZURE_PRINCIPAL_ID); empty grants nothing. Gets Storage Blob Data Reader on the ledger container only.')
param deployerPrincipalId string = ''
param blobDnsZoneId string
param queueDnsZoneId string
param tableDnsZoneId string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    // Capture writes through the public endpoint as a trusted Microsoft service: the exception is honoured
    // only with public network access on and default action Deny, so with captureEnabled the account
    // admits no network at all (no IP or VNet rule) and only the trusted-service bypass (docs/deploy.md).
    publicNetworkAccess: captureEnabled ? 'Enabled' : 'Disabled'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    networkAcls: {
      bypass: captureEnabled ? 'AzureServices' : 'None'
      defaultAction: 'Deny'
    }
  }

  resource blobService 'blobServices' = {
    name: 'default'
    properties: {
      deleteRetentionPolicy: {
        enabled: true
        days: 7
      }
    }

    resource ledger 'containers' = {
      name: ledgerContainerName
      properties: { publicAccess: 'None' }
    }

    resource deadLetter 'containers' = {
      name: deadLetterContainerName
      properties: { publicAccess: 'None' }
    }

    resource deploymentPackage 'containers' = {
      name: deploymentContainerName
      properties: { publicAccess: 'None' }
    }

    resource capture 'containers' = if (captureEnabled) {
      name: captureContainerName
      properties: { publicAccess: 'None' }
    }
  }
}

// Storage Blob Data Reader (read-only data access).
var storageBlobDataReader = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'

// The operator who deployed downloads the ledger for `chargeback report`: read-only, this container only.
resource deployerLedgerReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(account::blobService::ledger.id, deployerPrincipalId, storageBlobDataReader)
  scope: account::blobService::ledger
  properties: {
    principalId: deployerPrincipalId
    principalType: 'User'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataReader)
  }
}

module blobEndpoint 'private-endpoint.bicep' = {
  name: 'pe-${name}-blob'
  params: {
    name: 'pe-${name}-blob'
    location: location
    tags: tags
    subnetId: privateEndpointSubnetId
    privateLinkServiceId: account.id
    groupId: 'blob'
    privateDnsZoneIds: [blobDnsZoneId]
  }
}

module queueEndpoint 'private-endpoint.bicep' = {
  name: 'pe-${name}-queue'
  params: {
    name: 'pe-${name}-queue'
    location: location
    tags: tags
    subnetId: privateEndpointSubnetId
    privateLinkServiceId: account.id
    groupId: 'queue'
    privateDnsZoneIds: [queueDnsZoneId]
  }
}

module tableEndpoint 'private-endpoint.bicep' = {
  name: 'pe-${name}-table'
  params: {
    name: 'pe-${name}-table'
    location: location
    tags: tags
    subnetId: privateEndpointSubnetId
    privateLinkServiceId: account.id
    groupId: 'table'
    privateDnsZoneIds: [tableDnsZoneId]
  }
}

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
output ledgerContainerName string = account::blobService::ledger.name
output deadLetterContainerName string = account::blobService::deadLetter.name
output deploymentContainerName string = account::blobService::deploymentPackage.name
output captureContainerName string = captureEnabled ? captureContainerName : ''
