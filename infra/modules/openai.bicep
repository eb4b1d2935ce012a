// Azure OpenAI: private only (public network access off, key auth off), reachable through its
// private endpoint; model deployments come from a parameter array.

param name string
param location string
param tags object = {}

@description('Model deployments: [{ name, model: { name, version }, sku: { name, capacity } }].')
param deployments array

param privateEndpointSubnetId string
param openAiDnsZoneId string

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  sku: { name: 'S0' }
  properties: {
    customSubDomainName: name
    publicNetworkAccess: 'Disabled'
    disableLocalAuth: true
    networkAcls: {
      defaultAction: 'Deny'
      ipRules: []
      virtualNetworkRules: []
    }
  }
}

@batchSize(1)
resource modelDeployments 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = [
  for deployment in deployments: {
    parent: account
    name: deployment.name
    sku: deployment.sku
    properties: {
      model: {
        format: 'OpenAI'
        name: deployment.model.name
        version: deployment.model.version
      }
      versionUpgradeOption: 'OnceNewDefaultVersionAvailable'
    }
  }
]

module privateEndpoint 'private-endpoint.bicep' = {
  name: 'pe-${name}'
  params: {
    name: 'pe-${name}'
    location: location
    tags: tags
    subnetId: privateEndpointSubnetId
    privateLinkServiceId: account.id
    groupId: 'account'
    privateDnsZoneIds: [openAiDnsZoneId]
  }
}

output name string = account.name
output id string = account.id
output endpoint string = account.properties.endpoint
output deploymentNames array = [for (deployment, i) in deployments: modelDeployments[i].name]
