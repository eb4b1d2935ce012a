// The second pass of the private gateway: the API Management service, as apim.bicep creates it, with public
// network access disabled. APIM only accepts `publicNetworkAccess: Disabled` on an instance that already
// exists and has a private endpoint, so this runs after the endpoint (see apim.bicep). Every property the
// first pass sets is repeated, since this is a full PUT of the service.

param name string
param location string
param tags object = {}

@allowed(['StandardV2'])
param skuName string

param publisherEmail string
param publisherName string
param apimSubnetId string

@description('The customProperties of the first pass (TLS protocol settings).')
param customProperties object

resource apim 'Microsoft.ApiManagement/service@2024-05-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
    capacity: 1
  }
  identity: { type: 'SystemAssigned' }
  properties: {
    publisherEmail: publisherEmail
    publisherName: publisherName
    virtualNetworkType: 'External'
    virtualNetworkConfiguration: { subnetResourceId: apimSubnetId }
    publicNetworkAccess: 'Disabled'
    customProperties: customProperties
  }
}
